import { createHash } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './paths.js';

/** Who holds a stack lock, as the holder tells it to whoever asks. */
export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

/** A held lock; `release` lets the next command in. */
export interface StackLock {
  release(): Promise<void>;
}

export class StackLockBusy extends Error {
  constructor(
    readonly profile: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(
      `another stack command holds the ${profile} profile's lock${holder ? `: \`${holder.command}\` (pid ${holder.pid}, since ${holder.since})` : ''}`,
    );
  }
}

/**
 * The lock is a Linux abstract-namespace socket named after this checkout and the profile:
 * binding it is atomic, the kernel frees it when the holder dies (no stale lock file to break,
 * so no race between two processes both deciding a lock is stale), and the holder answers
 * anyone who connects with who it is.
 */
function lockAddress(profile: string): string {
  const checkout = createHash('sha256').update(ROOT).digest('hex').slice(0, 16);
  return `\0velora-stack-${checkout}-${profile}`;
}

async function tryBind(address: string, holder: LockHolder): Promise<net.Server | undefined> {
  const server = net.createServer((socket) => socket.end(JSON.stringify(holder)));
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve(undefined);
      else reject(err);
    });
    server.listen({ path: address }, () => {
      // The lock must not keep a finished command alive.
      server.unref();
      resolve(server);
    });
  });
}

/** Asks the current holder who it is (undefined if it left meanwhile or does not answer). */
export async function lockHolder(profile: string): Promise<LockHolder | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: lockAddress(profile) });
    let text = '';
    socket.setTimeout(1000);
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.once('end', () => {
      try {
        resolve(JSON.parse(text) as LockHolder);
      } catch {
        resolve(undefined);
      }
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', () => resolve(undefined));
  });
}

/**
 * Takes the profile's lock for `command` (`up`, `down`, `status`, `supervisor restart …`).
 * Waits up to `waitMs` for a holder to finish, telling `onWait` once who it waits for; after
 * that throws StackLockBusy naming the holder. Never breaks another holder's lock.
 */
export async function acquireStackLock(
  profile: string,
  command: string,
  options: { waitMs?: number; onWait?: (holder: LockHolder | undefined) => void; signal?: AbortSignal } = {},
): Promise<StackLock> {
  const address = lockAddress(profile);
  const me: LockHolder = { pid: process.pid, command, since: new Date().toISOString() };
  const deadline = Date.now() + (options.waitMs ?? 0);
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const server = await tryBind(address, me);
    if (server) return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    if (Date.now() >= deadline) throw new StackLockBusy(profile, await lockHolder(profile));
    if (!told) {
      told = true;
      options.onWait?.(await lockHolder(profile));
    }
    await sleep(300);
  }
}

/** Runs `fn` holding the profile's lock (see acquireStackLock). */
export async function withStackLock<T>(
  profile: string,
  command: string,
  options: Parameters<typeof acquireStackLock>[2],
  fn: () => Promise<T>,
): Promise<T> {
  const lock = await acquireStackLock(profile, command, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
