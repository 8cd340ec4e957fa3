import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { components, describeProcess, ownership, type Component, type ComponentName } from './components.js';
import { acquireStackLock } from './lock.js';
import { ensureMailpit } from './mailpit.js';
import { ensureMongo } from './mongo.js';
import { ROOT, stackDir } from './paths.js';
import { type StackProfile } from './profile.js';
import {
  findProcesses,
  hasPidFile,
  processInfo,
  recordedPid,
  removePidFile,
  runningPid,
  startProcess,
  stopPid,
  waitFor,
  writePidFile,
} from './processes.js';
import { services, stackEnv } from './services.js';
import { startService, waitServiceReady } from './stack.js';
import { ensureTemporal } from './temporal.js';

export const SUPERVISOR_ENTRY = path.join(ROOT, 'scripts', 'stack', 'supervisor-main.ts');

/** Restart delays, like compose's `restart: unless-stopped`: doubling from the first, capped. */
export const BACKOFF = { firstMs: 500, maxMs: 30_000, resetAfterUpMs: 30_000 };

/** What the supervisor writes to `.stack/<profile>/supervisor.json` for `status`. */
export interface SupervisorState {
  pid: number;
  since: string;
  components: Partial<
    Record<ComponentName, { restarts: number; last_restart_at?: string; last_error?: string }>
  >;
}

function statePath(profile: StackProfile): string {
  return path.join(stackDir(profile.name), 'supervisor.json');
}

/** The last state the profile's supervisor wrote (restart counts), if any. */
export function readSupervisorState(profile: StackProfile): SupervisorState | undefined {
  const file = statePath(profile);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SupervisorState;
  } catch {
    return undefined;
  }
}

function isSupervisorOf(profile: StackProfile) {
  return (argv: string[]) =>
    argv.includes(SUPERVISOR_ENTRY) && argv[argv.indexOf('--profile') + 1] === profile.name;
}

/** The pids of the profile's supervisor: its pid file's, else any found by command line. */
export function supervisorPids(profile: StackProfile): number[] {
  const recorded = runningPid(stackDir(profile.name), 'supervisor');
  const proc = recorded === undefined ? undefined : processInfo(recorded);
  if (proc && isSupervisorOf(profile)(proc.argv)) return [proc.pid];
  return findProcesses((p) => isSupervisorOf(profile)(p.argv)).map((p) => p.pid);
}

/**
 * Starts the detached supervisor unless one runs, and waits until it has written its state;
 * returns its pid and whether this call started it.
 */
export async function ensureSupervisor(
  profile: StackProfile,
  mongoUrl: string,
): Promise<{ pid: number; started: boolean }> {
  const dir = stackDir(profile.name);
  const running = supervisorPids(profile)[0];
  if (running !== undefined) {
    writePidFile(dir, 'supervisor', running); // found by its command line: record it again
    return { pid: running, started: false };
  }
  const { pid } = startProcess(
    dir,
    'supervisor',
    process.execPath,
    ['--import', 'tsx', SUPERVISOR_ENTRY, '--profile', profile.name, '--mongo-url', mongoUrl],
    {},
    ROOT,
  );
  await waitFor(
    'supervisor',
    async () => readSupervisorState(profile)?.pid === pid,
    60_000,
    path.join(dir, 'logs', 'supervisor.log'),
    () => (runningPid(dir, 'supervisor') === undefined ? 'the supervisor exited' : undefined),
  );
  return { pid, started: true };
}

/** Stops the profile's supervisor (first, so that it does not restart what `down` stops). */
export async function stopSupervisor(profile: StackProfile): Promise<boolean> {
  const pids = supervisorPids(profile);
  removePidFile(stackDir(profile.name), 'supervisor');
  for (const pid of pids) await stopPid(pid, 10_000);
  // Restart counts are per supervisor run, like a fresh compose `up`.
  rmSync(statePath(profile), { force: true });
  return pids.length > 0;
}

/** Starts one component again and waits until it answers. */
async function startComponent(
  profile: StackProfile,
  component: Component,
  mongoUrl: string,
  log: (line: string) => void,
): Promise<void> {
  const dir = stackDir(profile.name);
  if (component.name === 'temporal') {
    await ensureTemporal(dir, profile.ports);
    return;
  }
  if (component.name === 'ferretdb' || component.name === 'mongod') {
    await ensureMongo(dir, profile.ports.mongo, profile.databases.ferret, log);
    return;
  }
  if (component.name === 'mailpit') {
    await ensureMailpit(dir, profile.ports);
    return;
  }
  const svc = services(profile).find((s) => s.name === component.name);
  if (!svc) throw new Error(`unknown component ${component.name}`);
  startService(profile, svc, stackEnv(profile, mongoUrl));
  await waitServiceReady(profile, svc);
}

/**
 * Keeps the profile's stack running until `signal` aborts: every second it looks at each
 * component that has a pid file (what this stack started; `down` removes the file before it
 * stops one, so a stopped component stays stopped) and restarts one whose process is gone,
 * after a doubling delay that resets once it stayed up. Each restart takes the stack lock, so
 * it never races an `up` or `down`; every exit and restart is logged and counted.
 */
export async function supervise(
  profile: StackProfile,
  mongoUrl: string,
  signal: AbortSignal,
  log: (entry: Record<string, unknown>) => void,
): Promise<void> {
  const dir = stackDir(profile.name);
  const state: SupervisorState = { pid: process.pid, since: new Date().toISOString(), components: {} };
  const delays = new Map<ComponentName, number>();
  const upSince = new Map<ComponentName, number>();
  const save = () => {
    const file = statePath(profile);
    writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
    renameSync(`${file}.tmp`, file);
  };
  save();
  let idleRounds = 0;

  async function restart(component: Component, deadPid: number | undefined) {
    const delay = delays.get(component.name) ?? BACKOFF.firstMs;
    delays.set(component.name, Math.min(delay * 2, BACKOFF.maxMs));
    log({ msg: 'component exited', component: component.name, pid: deadPid, restart_in_ms: delay });
    await sleep(delay, undefined, { signal });
    const lock = await acquireStackLock(profile.name, `supervisor: restart ${component.name}`, {
      waitMs: Number.MAX_SAFE_INTEGER,
      signal,
    });
    const entry = (state.components[component.name] ??= { restarts: 0 });
    try {
      // `down` may have stopped it meanwhile (no pid file), or an `up` brought it back.
      if (!hasPidFile(dir, component.name) || runningPid(dir, component.name) !== undefined) return;
      const found = await ownership(profile, component, { adopt: true });
      if (found.kind === 'ours') {
        log({ msg: 'component found running, adopted', component: component.name, pid: found.pid });
        return;
      }
      if (found.kind === 'foreign' || found.kind === 'hidden') {
        const holder = found.kind === 'foreign' ? describeProcess(found.proc) : 'another user';
        entry.last_error = `port ${component.port} is held by ${holder}`;
        log({ msg: 'cannot restart: port taken', component: component.name, holder, level: 'warn' });
        return;
      }
      await startComponent(profile, component, mongoUrl, (line) => log({ msg: line }));
      entry.restarts += 1;
      entry.last_restart_at = new Date().toISOString();
      delete entry.last_error;
      upSince.set(component.name, Date.now());
      log({
        msg: 'component restarted',
        component: component.name,
        pid: runningPid(dir, component.name),
        restarts: entry.restarts,
      });
    } catch (err) {
      if (signal.aborted) return;
      entry.last_error = err instanceof Error ? err.message : String(err);
      log({ msg: 'restart failed', component: component.name, error: entry.last_error, level: 'error' });
    } finally {
      save();
      await lock.release();
    }
  }

  while (!signal.aborted) {
    let supervising = 0;
    // In dependency order: a dead Temporal comes back before the worker that needs it.
    for (const component of components(profile)) {
      if (signal.aborted) break;
      if (!hasPidFile(dir, component.name)) continue;
      supervising += 1;
      const pid = runningPid(dir, component.name);
      if (pid !== undefined) {
        if (!upSince.has(component.name)) upSince.set(component.name, Date.now());
        if (Date.now() - upSince.get(component.name)! >= BACKOFF.resetAfterUpMs)
          delays.delete(component.name);
        continue;
      }
      upSince.delete(component.name);
      await restart(component, recordedPid(dir, component.name)).catch((err: unknown) => {
        if (!signal.aborted) throw err;
      });
    }
    // Everything stopped without us (e.g. stopped one by one): nothing left to keep alive.
    idleRounds = supervising === 0 ? idleRounds + 1 : 0;
    if (idleRounds >= 10) {
      log({ msg: 'nothing left to supervise; exiting' });
      return;
    }
    await sleep(1000, undefined, { signal }).catch(() => undefined);
  }
}
