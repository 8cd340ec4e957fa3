import path from 'node:path';
import { mongoAnswers } from './mongo.js';
import { mailpitHealthy } from './mailpit.js';
import { ROOT, stackDir } from './paths.js';
import { type StackProfile } from './profile.js';
import {
  httpOk,
  portOwners,
  processInfo,
  removePidFile,
  runningPid,
  tcpOpen,
  writePidFile,
  type ProcessInfo,
} from './processes.js';
import { services } from './services.js';
import { temporalHealthy } from './temporal.js';
import { findTool } from './tools.js';

export type ComponentName =
  'temporal' | 'ferretdb' | 'mongod' | 'mailpit' | 'auth' | 'wallet' | 'payout-sim' | 'worker' | 'gateway';

/** One process of a stack profile, as `up`, `down`, `status` and the supervisor see it. */
export interface Component {
  name: ComponentName;
  /** The port it listens on: its port owner is how a process without a pid file is found. */
  port: number;
  /** True when `proc` is this checkout's stack running this component for this profile. */
  ours(proc: ProcessInfo): boolean;
  healthy(): Promise<boolean>;
}

/** The MongoDB wire server the stack starts when MONGO_URL is not given: mongod if installed. */
export function mongoKind(): 'mongod' | 'ferretdb' {
  return findTool('mongod') ? 'mongod' : 'ferretdb';
}

/** Infrastructure first, then the services in start order (stop in reverse). */
export function components(profile: StackProfile): Component[] {
  const dir = stackDir(profile.name);
  const p = profile.ports;
  const underCheckout = (proc: ProcessInfo) => proc.cwd === ROOT || proc.argv.some((a) => a.startsWith(ROOT));
  const mongo = mongoKind();
  return [
    {
      name: 'temporal',
      port: p.temporal,
      // The SQLite file lives in this profile's stack folder: nobody else's server names it.
      ours: (proc) => proc.argv.includes('start-dev') && proc.argv.includes(path.join(dir, 'temporal.db')),
      healthy: () => temporalHealthy(p.temporal),
    },
    {
      name: mongo,
      port: p.mongo,
      ours: (proc) =>
        mongo === 'mongod'
          ? proc.argv.includes(path.join(dir, 'mongo'))
          : path.basename(proc.argv[0] ?? '') === 'ferretdb' &&
            proc.argv.includes(`--listen-addr=127.0.0.1:${p.mongo}`) &&
            underCheckout(proc),
      healthy: () => mongoAnswers(`mongodb://127.0.0.1:${p.mongo}/`),
    },
    {
      name: 'mailpit',
      port: p.mailpit,
      ours: (proc) =>
        path.basename(proc.argv[0] ?? '') === 'mailpit' && proc.argv.includes(`--smtp=127.0.0.1:${p.smtp}`),
      healthy: () => mailpitHealthy(p.mailpit),
    },
    ...services(profile).map((svc): Component => ({
      name: svc.name,
      port: svc.port,
      ours: (proc) => proc.argv.includes(path.join(ROOT, svc.entry)),
      healthy: () => httpOk(`http://127.0.0.1:${svc.port}/readyz`),
    })),
  ];
}

/** Who runs a component right now. */
export type Ownership =
  | { kind: 'ours'; pid: number; adopted: boolean }
  | { kind: 'foreign'; proc: ProcessInfo }
  | { kind: 'hidden' }
  | { kind: 'free' };

/**
 * Finds who runs `component`: the process in its pid file if that is still this component,
 * else the owner of its port. With `adopt`, a port owner that is this checkout's own process
 * (its pid file lost) gets its pid file back, so `down` and the supervisor know it again.
 */
export async function ownership(
  profile: StackProfile,
  component: Component,
  options: { adopt?: boolean; owners?: Map<number, ProcessInfo> } = {},
): Promise<Ownership> {
  const dir = stackDir(profile.name);
  const recorded = runningPid(dir, component.name);
  if (recorded !== undefined) {
    const proc = processInfo(recorded);
    if (proc && component.ours(proc)) return { kind: 'ours', pid: recorded, adopted: false };
    // The pid was reused by some other program: the file is stale.
    if (options.adopt) removePidFile(dir, component.name);
  }
  const owner = (options.owners ?? portOwners([component.port])).get(component.port);
  if (owner) {
    if (!component.ours(owner)) return { kind: 'foreign', proc: owner };
    if (options.adopt) writePidFile(dir, component.name, owner.pid);
    return { kind: 'ours', pid: owner.pid, adopted: true };
  }
  // Something accepts connections but /proc does not show whose (another user's process).
  return (await tcpOpen(component.port)) ? { kind: 'hidden' } : { kind: 'free' };
}

/** `pid 123: node --import tsx …/gateway/main.ts` (shortened for messages). */
export function describeProcess(proc: ProcessInfo): string {
  const command = proc.argv.join(' ');
  return `pid ${proc.pid}: ${command.length > 120 ? `${command.slice(0, 117)}…` : command}`;
}
