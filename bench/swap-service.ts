/**
 * Replaces one service of the running dev stack with a copy started by hand — the same
 * environment (read from the running process), optionally another checkout's code and Node
 * flags — so two versions of a service can be measured alternately on the same stack, or one
 * profiled with `--cpu-prof`:
 *
 *   node --import tsx bench/swap-service.ts worker                           # restart as is
 *   node --import tsx bench/swap-service.ts worker --from /tmp/velora-a      # another checkout
 *   node --import tsx bench/swap-service.ts worker --cpu-prof .stack/prof    # profile until the next swap
 *
 * The copy gets the stack's pid file, so the supervisor and bench/cpu.ts treat it as the
 * stack's own (`velora down` stops only this checkout's processes: swap a copy from elsewhere
 * back before it); a copy is stopped with SIGTERM (the services exit cleanly, which is when
 * `--cpu-prof` writes its `.cpuprofile`, one per thread). Only the dev stack's processes are
 * touched, and only one whose pid file this stack wrote.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, stackDir } from '../scripts/stack/paths.js';
import { benchProfile } from './stack-control.js';
import { httpOk, runningPid, startProcess, stopProcess, waitFor } from '../scripts/stack/processes.js';
import { services } from '../scripts/stack/services.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string', default: ROOT },
    'cpu-prof': { type: 'string' },
  },
});
const profile = benchProfile();
const svc = services(profile).find((s) => s.name === positionals[0]);
if (!svc) {
  console.error('usage: bench/swap-service.ts gateway|auth|wallet|worker [--from DIR] [--cpu-prof DIR]');
  process.exit(2);
}
const dir = stackDir(profile.name);
// Every service of a stack gets the same environment: a service that is down borrows another's.
const pid = [svc.name, ...services(profile).map((s) => s.name)]
  .map((name) => runningPid(dir, name))
  .find((p) => p !== undefined);
if (pid === undefined) {
  console.error(`no service of the dev stack is running (no live pid in ${dir}/pids)`);
  process.exit(1);
}

/** The running process's environment, exactly as the stack (or an earlier swap) gave it. */
const env = Object.fromEntries(
  readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const from = path.resolve(values.from);
const prof = values['cpu-prof'];
const nodeArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(prof)}`] : [];

// Removing the pid file first keeps the supervisor from restarting the old copy meanwhile.
await stopProcess(dir, svc.name);
const started = startProcess(
  dir,
  svc.name,
  process.execPath,
  [...nodeArgs, '--import', 'tsx', path.join(from, svc.entry)],
  env,
  from,
);
await waitFor(
  `${svc.name} /readyz`,
  () => httpOk(`http://127.0.0.1:${svc.port}/readyz`),
  120_000,
  path.join(dir, 'logs', `${svc.name}.log`),
  () => (runningPid(dir, svc.name) === undefined ? 'the process exited' : undefined),
);
console.log(`${svc.name}: pid ${started.pid} from ${from}${prof ? `, profiling into ${prof}` : ''}`);
