/**
 * The stack the bench measures: the dev stack (`scripts/velora up --detach`), or the profile
 * `VELORA_PROFILE` names (as `scripts/velora` reads it: `scratch` measures a second copy while
 * someone works on the dev one), started if its
 * gateway does not answer, with the rate limits raised (all load comes from one IP and a few
 * users; the limiter is tested elsewhere). Whatever was already running stays running; what the
 * bench started, it stops at the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, stackDir } from '../scripts/stack/paths.js';
import { isProfileName, PROFILES, type StackProfile } from '../scripts/stack/profile.js';
import { httpOk, runningPid, stopProcess, tcpOpen, waitFor } from '../scripts/stack/processes.js';

/** The profile `VELORA_PROFILE` names (as `scripts/velora` reads it), else `dev`. */
export function benchProfile(): StackProfile {
  const name = process.env.VELORA_PROFILE ?? 'dev';
  if (!isProfileName(name))
    throw new Error(`VELORA_PROFILE=${name}: unknown profile (${Object.keys(PROFILES).join(', ')})`);
  return PROFILES[name];
}

export const STACK = benchProfile();
export const STACK_DIR = stackDir(STACK.name);
export const GATEWAY_URL = `http://127.0.0.1:${STACK.ports.gateway}`;

/** Stack processes with pid files, services first (the order to stop them in). */
export const STACK_PROCESSES = [
  'gateway',
  'worker',
  'wallet',
  'auth',
  'ferretdb',
  'mongod',
  'temporal',
] as const;

/** Limits high enough that the limiter never answers the bench (requests per minute). */
export const BENCH_RATE_LIMITS = {
  RATE_LIMIT_IP_PER_MINUTE: '100000000',
  RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
  RATE_LIMIT_USER_PER_MINUTE: '1000000',
};

export interface StackHandle {
  /** Names of the processes this run started. */
  started: string[];
  /** Why the gateway cannot be measured (it answers, but is not ready), if so. */
  gatewayProblem?: string;
  /** Stops what this run started (nothing else). */
  release(): Promise<void>;
}

export async function ensureStack(log: (line: string) => void): Promise<StackHandle> {
  const before = new Set(STACK_PROCESSES.filter((name) => runningPid(STACK_DIR, name) !== undefined));
  if (await httpOk(`${GATEWAY_URL}/readyz`)) return { started: [], release: async () => undefined };
  if (await tcpOpen(STACK.ports.gateway)) {
    // Someone's stack is up but not ready (a service restarting?): give it a moment, and never
    // start a second copy on top of it.
    const ready = await waitFor('gateway /readyz', () => httpOk(`${GATEWAY_URL}/readyz`), 30_000).then(
      () => true,
      () => false,
    );
    if (ready) return { started: [], release: async () => undefined };
    const answer = await fetch(`${GATEWAY_URL}/readyz`)
      .then((r) => r.text())
      .catch((err: unknown) => String(err));
    return {
      started: [],
      gatewayProblem: `the running gateway is not ready (${answer.slice(0, 200)}): the gateway scenarios were skipped`,
      release: async () => undefined,
    };
  }
  log(`the ${STACK.name} stack is not up: scripts/velora up --detach (rate limits raised for the bench) …`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'bash',
      [path.join(ROOT, 'scripts', 'velora'), 'up', '--detach', '--profile', STACK.name],
      {
        cwd: ROOT,
        env: { ...process.env, ...BENCH_RATE_LIMITS },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.on('data', (d: Buffer) => process.stderr.write(d));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`scripts/velora up exited with ${code}`)),
    );
  });
  const started = STACK_PROCESSES.filter(
    (name) => !before.has(name) && runningPid(STACK_DIR, name) !== undefined,
  );
  return {
    started,
    release: async () => {
      for (const name of started)
        if (await stopProcess(STACK_DIR, name)) log(`stopped ${name} (started by the bench)`);
    },
  };
}

/** When a process started (epoch ms), from /proc; undefined if it is gone. */
function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    const clk = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    return (btime + startTicks / clk) * 1000;
  } catch {
    return undefined;
  }
}

/**
 * A note when stack services were started before the last commit: they run the code they were
 * started with, while the floor worker bundles the working tree — the two may differ.
 */
export function staleStackNote(): string | undefined {
  let committedAt: number;
  try {
    committedAt =
      Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim()) *
      1000;
  } catch {
    return undefined;
  }
  const stale: string[] = [];
  for (const name of ['gateway', 'worker', 'wallet', 'auth'] as const) {
    const pid = runningPid(STACK_DIR, name);
    const started = pid === undefined ? undefined : processStart(pid);
    if (started !== undefined && started < committedAt)
      stale.push(`${name} (started ${new Date(started).toISOString().slice(11, 19)} UTC)`);
  }
  if (stale.length === 0) return undefined;
  return `The running stack's ${stale.join(', ')} started before the last commit (${new Date(committedAt).toISOString().slice(11, 19)} UTC): they run the code they were started with, which may be older than the workflow the floor worker bundles from the working tree.`;
}
