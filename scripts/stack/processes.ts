import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process the stack started: its pid is kept in `<dir>/pids/<name>.pid`. */
export interface ManagedProcess {
  name: string;
  pid: number;
}

/**
 * Starts `command` detached in its own process group, with stdout and stderr appended to
 * `<dir>/logs/<name>.log`, and records its pid so `down` can stop exactly what `up` started.
 */
export function startProcess(
  dir: string,
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): ManagedProcess {
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  mkdirSync(path.join(dir, 'pids'), { recursive: true });
  const log = openSync(path.join(dir, 'logs', `${name}.log`), 'a');
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', log, log],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  writeFileSync(pidFile(dir, name), String(child.pid));
  return { name, pid: child.pid };
}

function pidFile(dir: string, name: string): string {
  return path.join(dir, 'pids', `${name}.pid`);
}

/** The pid recorded for `name` if that process is still alive. */
export function runningPid(dir: string, name: string): number | undefined {
  const file = pidFile(dir, name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends SIGTERM to the process group, waits up to `graceMs`, then SIGKILLs what is left. */
export async function stopProcess(dir: string, name: string, graceMs = 15_000): Promise<boolean> {
  const pid = runningPid(dir, name);
  rmSync(pidFile(dir, name), { force: true });
  if (pid === undefined) return false;
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await sleep(100);
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  // The group may still hold children (e.g. a server's forks); make sure none outlive it.
  signalGroup(pid, 'SIGKILL');
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Polls `check` until it returns true or `timeoutMs` passes; the error names what never came
 * up. `failed` is asked on every round and stops the wait at once with its reason (a process
 * that already exited will never become ready).
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  logHint?: string,
  failed?: () => string | undefined,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    const reason = failed?.();
    if (reason) throw new Error(`${what}: ${reason}${logHint ? ` (see ${logHint})` : ''}`);
    await sleep(250);
  }
  throw new Error(
    `${what} did not become ready within ${Math.round(timeoutMs / 1000)} s${logHint ? ` (see ${logHint})` : ''}`,
  );
}

/** True when an HTTP GET of `url` answers 2xx within 2 s. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** True when something accepts TCP connections on host:port. */
export async function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
