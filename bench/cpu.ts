/**
 * CPU per process while a step runs, read from /proc: utime + stime of every process of the
 * stack (pids from `.stack/dev/pids/`), PostgreSQL (backends of the stack's and the bench's
 * databases plus its background processes; backends of other databases — other people's test
 * runs — are counted apart), Redis, the bench itself and its helpers, and the whole machine
 * from /proc/stat, so "other" shows what else was running.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  comm: string;
  ticks: number;
  /** Start time in clock ticks after boot. */
  start: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may contain spaces; the fields after it are space separated.
    const close = raw.lastIndexOf(')');
    const comm = raw.slice(raw.indexOf('(') + 1, close);
    const f = raw.slice(close + 2).split(' ');
    // After comm: state(0) ppid(1) … utime(11) stime(12) … starttime(19).
    return { pid, comm, ticks: Number(f[11]) + Number(f[12]), start: Number(f[19]) };
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and iowait ticks of the whole machine (all CPUs). */
function machineTicks(): { busy: number; iowait: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , iowait, irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return { busy: user! + nice! + system! + irq! + softirq! + steal!, iowait: iowait! };
}

export interface CpuSources {
  /** Folder with `<name>.pid` files of the stack (`.stack/dev/pids`). */
  pidDir: string;
  /** Names of the pid files to read (gateway, auth, wallet, worker, temporal, ferretdb). */
  stackProcesses: readonly string[];
  /** PostgreSQL databases whose backends count as the stack's. */
  databases: readonly string[];
  /** Further processes of the bench (name → pid), e.g. its Temporal worker. */
  extra?: () => Record<string, number | undefined>;
}

/** Cores used per group over a window (1.0 = one core fully busy). */
export interface CpuReport {
  seconds: number;
  cores: Record<string, number>;
  machineBusy: number;
  machineIowait: number;
  /** Busy cores not explained by any group: other work on the machine. */
  other: number;
}

/** The group a process belongs to, or undefined if it is none of ours. */
function groupOf(p: ProcStat, sources: CpuSources, pidGroups: Map<number, string>): string | undefined {
  const known = pidGroups.get(p.pid);
  if (known) return known;
  if (p.comm === 'redis-server') return 'redis';
  if (p.comm === 'pgbench') return 'pgbench';
  if (p.comm === 'postgres') {
    // Backend titles read "postgres: 15/main: <user> <database> <host>(port) <state>".
    const m = /^postgres: [^:]+: (\S+) (\S+) \S+\(\d+\)/.exec(cmdline(p.pid));
    if (m && !sources.databases.includes(m[2]!)) return 'postgres (other databases)';
    return 'postgres';
  }
  return undefined;
}

/**
 * Starts sampling every second; `stop()` returns the cores each group used since the start.
 * A process that appears during the window counts from zero; one that disappears keeps what
 * it used up to the last sample (up to one second of it may be missed).
 */
export function startCpuMeter(sources: CpuSources): { stop(): CpuReport } {
  const bootTicksNow = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * CLK_TCK;
  const startBoot = bootTicksNow();
  const t0 = performance.now();
  const m0 = machineTicks();
  const last = new Map<number, number>();
  const used = new Map<string, number>();

  const pidGroups = () => {
    const map = new Map<number, string>();
    for (const name of sources.stackProcesses) {
      const pid = readPid(path.join(sources.pidDir, `${name}.pid`));
      if (pid) map.set(pid, name);
    }
    map.set(process.pid, 'bench (generator)');
    for (const [name, pid] of Object.entries(sources.extra?.() ?? {})) if (pid) map.set(pid, name);
    return map;
  };

  const sample = (first: boolean) => {
    const groups = pidGroups();
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const stat = readStat(pid);
      if (!stat) continue;
      const group = groupOf(stat, sources, groups);
      if (!group) continue;
      const before = last.get(pid) ?? (first || stat.start < startBoot ? stat.ticks : 0);
      last.set(pid, stat.ticks);
      if (!first) used.set(group, (used.get(group) ?? 0) + Math.max(0, stat.ticks - before));
      else used.set(group, used.get(group) ?? 0);
    }
  };

  sample(true);
  const timer = setInterval(() => sample(false), 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample(false);
      const seconds = (performance.now() - t0) / 1000;
      const m1 = machineTicks();
      const toCores = (ticks: number) => Number((ticks / CLK_TCK / seconds).toFixed(3));
      const cores: Record<string, number> = {};
      let sum = 0;
      for (const [group, ticks] of [...used].sort((a, b) => b[1] - a[1])) {
        cores[group] = toCores(ticks);
        sum += ticks;
      }
      const busy = m1.busy - m0.busy;
      return {
        seconds: Number(seconds.toFixed(1)),
        cores,
        machineBusy: toCores(busy),
        machineIowait: toCores(m1.iowait - m0.iowait),
        other: toCores(Math.max(0, busy - sum)),
      };
    },
  };
}
