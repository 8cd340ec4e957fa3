/**
 * The local stack's command line (called by scripts/velora):
 *   up [--detach] [--fresh]   bring the whole system up; without --detach, Ctrl-C stops it
 *   down                      stop everything `up` started (the machine's PostgreSQL/Redis keep running)
 *   status                    what runs where
 * `--profile test` addresses the copy the test suite runs (other ports and databases).
 */
import { parseArgs } from 'node:util';
import { PROFILES, type StackProfile } from './profile.js';
import { stackDown, stackStatus, stackUp } from './stack.js';
import { findTool } from './tools.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    detach: { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    profile: { type: 'string', default: process.env.VELORA_PROFILE ?? 'dev' },
  },
});

const command = positionals[0] ?? 'status';
const profileName = values.profile;
if (profileName !== 'dev' && profileName !== 'test') {
  console.error(`unknown profile ${profileName} (dev or test)`);
  process.exit(2);
}
const profile: StackProfile = PROFILES[profileName];

async function printStatus() {
  const rows = await stackStatus(profile);
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const row of rows) {
    console.log(
      `  ${row.name.padEnd(width)}  ${row.up ? 'up  ' : 'DOWN'}  ${row.url}${row.pid ? `  (pid ${row.pid})` : ''}`,
    );
  }
  const address = `127.0.0.1:${profile.ports.temporal}`;
  console.log('\nOperators:');
  console.log(`  temporal workflow list --address ${address} --query "TransferStatus='needs_attention'"`);
  const tctl = findTool('tctl');
  console.log(
    tctl
      ? `  tctl --address ${address} workflow list`
      : `  tctl: not installed on this machine (the module proxy refuses it); use the temporal command above`,
  );
}

async function up() {
  const { env } = await stackUp(profile, { fresh: values.fresh });
  const p = profile.ports;
  console.log(`
Velora is up (${profile.name} profile)
  Gateway (public API)   http://127.0.0.1:${p.gateway}      docs: http://127.0.0.1:${p.gateway}/docs
  AuthService            http://127.0.0.1:${p.auth}
  WalletService          http://127.0.0.1:${p.wallet}
  Orchestrator worker    http://127.0.0.1:${p.worker}/readyz
  Temporal gRPC          127.0.0.1:${p.temporal}
  Temporal Web UI        http://127.0.0.1:${p.temporalUi}
  Payload codec server   http://127.0.0.1:${p.codec}   (open it once to let the Web UI decode payloads)
  Logs                   .stack/${profile.name}/logs/

Dev credentials (local stack only)
  admin                  ${env.VELORA_ADMIN_EMAIL} / ${env.VELORA_ADMIN_PASSWORD}
  orchestrator client    ${env.ORCHESTRATOR_CLIENT_ID} / ${env.ORCHESTRATOR_CLIENT_SECRET}
  codec operator token   ${env.CODEC_SERVER_OPERATOR_TOKEN}
  OTP codes              http://127.0.0.1:${p.auth}/dev/outbox?recipient=<email>
`);
  await printStatus();
}

async function main() {
  switch (command) {
    case 'up': {
      try {
        await up();
      } catch (err) {
        console.error(`\nup failed: ${err instanceof Error ? err.message : String(err)}`);
        console.error('stopping what was started …');
        await stackDown(profile);
        process.exit(1);
      }
      if (values.detach) return;
      console.log('\nRunning in the foreground: Ctrl-C stops everything this command started.');
      await new Promise<void>((resolve) => {
        // Signal listeners alone do not keep Node alive: the watch timer does, and it also
        // reports a component that died so the operator is not left guessing.
        const reported = new Set<string>();
        const watch = setInterval(() => {
          void stackStatus(profile).then((rows) => {
            for (const row of rows) {
              if (!row.up && row.pid === undefined && !reported.has(row.name) && row.name !== 'temporal-ui') {
                reported.add(row.name);
                console.error(`${row.name} is not running (see .stack/${profile.name}/logs/${row.name}.log)`);
              }
            }
          });
        }, 5000);
        const stop = () => {
          clearInterval(watch);
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      console.log('\nstopping …');
      await stackDown(profile);
      return;
    }
    case 'down':
      await stackDown(profile);
      return;
    case 'status':
      await printStatus();
      return;
    default:
      console.error(`unknown command ${command}: up | down | status`);
      process.exit(2);
  }
}

await main();
