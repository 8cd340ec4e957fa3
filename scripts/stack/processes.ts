import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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

/** The pid recorded for `name`, alive or not. */
export function recordedPid(dir: string, name: string): number | undefined {
  const file = pidFile(dir, name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The pid recorded for `name` if that process is still alive. */
export function runningPid(dir: string, name: string): number | undefined {
  const pid = recordedPid(dir, name);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the process recorded for `name` (see stopPid); false when none was running. */
export async function stopProcess(dir: string, name: string, graceMs = 15_000): Promise<boolean> {
  const pid = runningPid(dir, name);
  rmSync(pidFile(dir, name), { force: true });
  if (pid === undefined) return false;
  await stopPid(pid, graceMs);
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

/** What the stack needs to know about a running process to decide whether it started it. */
export interface ProcessInfo {
  pid: number;
  argv: string[];
  cwd?: string;
}

/** The command line and working directory of `pid`, or undefined when it is gone or not ours to read. */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (argv.length === 0) return undefined; // a zombie: exited, not yet reaped
    let cwd: string | undefined;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      cwd = undefined;
    }
    return { pid, argv, cwd };
  } catch {
    return undefined;
  }
}

/** Every live process (of this user, as far as /proc lets us read) whose info matches `predicate`. */
export function findProcesses(predicate: (info: ProcessInfo) => boolean): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    if (info && predicate(info)) found.push(info);
  }
  return found;
}

/**
 * The processes listening on each of `ports` (127.0.0.1, 0.0.0.0 or ::), found through the
 * kernel's socket tables: a pid file can be lost, the port owner cannot. Linux only, like the
 * rest of the local stack.
 */
export function portOwners(ports: number[]): Map<number, ProcessInfo> {
  const inodeToPort = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // fields: sl local_address rem_address st ... inode (index 9); st 0A = LISTEN
      if (fields.length < 10 || fields[3] !== '0A') continue;
      const port = parseInt(fields[1]!.split(':')[1]!, 16);
      if (ports.includes(port) && fields[9] !== '0') inodeToPort.set(fields[9]!, port);
    }
  }
  const owners = new Map<number, ProcessInfo>();
  if (inodeToPort.size === 0) return owners;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const port = inode === undefined ? undefined : inodeToPort.get(inode);
      if (port === undefined || owners.has(port)) continue;
      const info = processInfo(Number(entry));
      if (info) owners.set(port, info);
    }
    if (owners.size === inodeToPort.size) break;
  }
  return owners;
}

/** Records `pid` as the stack's `name` (adopting a process whose pid file was lost). */
export function writePidFile(dir: string, name: string, pid: number): void {
  mkdirSync(path.join(dir, 'pids'), { recursive: true });
  writeFileSync(pidFile(dir, name), String(pid));
}

/** Forgets `name`'s pid file: `down` does this before stopping, so a supervisor leaves it stopped. */
export function removePidFile(dir: string, name: string): void {
  rmSync(pidFile(dir, name), { force: true });
}

/** True when `name` has a pid file, alive or not (the supervisor's "this should be running"). */
export function hasPidFile(dir: string, name: string): boolean {
  return existsSync(pidFile(dir, name));
}

/** SIGTERM to `pid`'s process group, up to `graceMs` to exit, then SIGKILL for whatever is left. */
export async function stopPid(pid: number, graceMs = 15_000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await sleep(100);
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  // The group may still hold children (e.g. a server's forks); make sure none outlive it.
  signalGroup(pid, 'SIGKILL');
}
