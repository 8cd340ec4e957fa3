/**
 * The local stack's command line (called by scripts/velora):
 *   up [--detach] [--fresh]   bring the whole system up and supervise it; without --detach, Ctrl-C stops it
 *   down                      stop everything `up` started (the machine's PostgreSQL/Redis keep running)
 *   status                    what runs where, who started it, how often it was restarted
 * `--profile test` addresses the copy the test suite runs (other ports and databases); `--profile
 * scratch` a third copy for trying the stack itself. Each command holds the profile's lock.
 */
import { parseArgs } from 'node:util';
import { acquireStackLock, StackLockBusy } from './lock.js';
import { isProfileName, PROFILES, type StackProfile } from './profile.js';
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
if (!isProfileName(profileName)) {
  console.error(`unknown profile ${profileName} (${Object.keys(PROFILES).join(', ')})`);
  process.exit(2);
}
const profile: StackProfile = PROFILES[profileName];

async function printStatus() {
  const rows = await stackStatus(profile);
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const row of rows) {
    const notes = [
      row.pid ? `pid ${row.pid}` : undefined,
      row.owner && row.owner !== 'stack' ? row.owner : undefined,
      row.restarts ? `restarts ${row.restarts}` : undefined,
    ].filter(Boolean);
    console.log(
      `  ${row.name.padEnd(width)}  ${row.up ? 'up  ' : 'DOWN'}  ${row.url}${notes.length ? `  (${notes.join(', ')})` : ''}`,
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
  Payload codec server   http://127.0.0.1:${p.codec}   (sign in there, then turn on credentials in the Web UI: docs/runbook.md, "Web UI")
  Logs                   .stack/${profile.name}/logs/

Dev credentials (local stack only)
  admin                  ${env.VELORA_ADMIN_EMAIL} / ${env.VELORA_ADMIN_PASSWORD}
  orchestrator client    ${env.ORCHESTRATOR_CLIENT_ID} / ${env.ORCHESTRATOR_CLIENT_SECRET}
  codec operator token   ${env.CODEC_SERVER_OPERATOR_TOKEN}
  Mail (OTP codes)       http://127.0.0.1:${p.mailpit}      (Mailpit: every email AuthService sends)
`);
  await printStatus();
}

/** Restart counts as the foreground `up` reports them. */
async function restartCounts(): Promise<Map<string, number>> {
  return new Map((await stackStatus(profile)).map((r) => [r.name, r.restarts ?? 0]));
}

async function main() {
  switch (command) {
    case 'up': {
      try {
        await up();
      } catch (err) {
        // stackUp has already stopped what it started itself; whatever ran before keeps running.
        console.error(`\nup failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
      if (values.detach) {
        console.log(
          `\nThe supervisor keeps it running (restarts: \`velora status\`); \`velora down\` stops it.`,
        );
        return;
      }
      console.log('\nRunning in the foreground: Ctrl-C stops everything this stack started.');
      await new Promise<void>((resolve) => {
        // The detached supervisor restarts what exits; this loop only tells the operator. It
        // also keeps Node alive (signal listeners alone do not).
        let seen: Map<string, number> | undefined;
        const watch = setInterval(() => {
          void restartCounts().then((counts) => {
            for (const [name, count] of counts) {
              if (seen && count > (seen.get(name) ?? 0))
                console.error(
                  `${name} exited and was restarted (${count} so far; see .stack/${profile.name}/logs/${name}.log)`,
                );
            }
            seen = counts;
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
    case 'status': {
      // Status only reads, but it waits for a running `up`/`down` to say where things stand
      // after it; if that takes long it says so and shows the state of the moment.
      const lock = await acquireStackLock(profile.name, 'status', { waitMs: 5000 }).catch((err: unknown) => {
        if (!(err instanceof StackLockBusy)) throw err;
        console.log(`(${err.message}; showing the state of the moment)`);
        return undefined;
      });
      try {
        await printStatus();
      } finally {
        await lock?.release();
      }
      return;
    }
    default:
      console.error(`unknown command ${command}: up | down | status`);
      process.exit(2);
  }
}

await main();
