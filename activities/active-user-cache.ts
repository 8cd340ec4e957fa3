/**
 * The reserve step's short memory of AuthService's answer for an **active** user (status and
 * limits), so a user who transfers again within a few seconds costs no AuthService call.
 *
 * What may be stale, and for how long (at most `ttlMs`):
 * - a user disabled meanwhile: AuthService denylists every access token of theirs at the
 *   disable, so the gateway refuses their next request at once; only a transfer the gateway
 *   accepted before the disable and reserved within `ttlMs` of the cached answer still reserves;
 * - limits: a cached answer carries the limits AuthService answered with. When they rise (the
 *   email is verified) the cached ones are the stricter; when an operator lowers them
 *   (AuthService's `TRANSFER_LIMIT_*`), reserves within `ttlMs` of a cached answer still use the
 *   old, higher limits.
 * Anything but `active` (pending, disabled, unknown, an outage) is never remembered: the next
 * reserve asks again, so an activation is seen at once.
 */
import { LRUCache } from 'lru-cache';
import type { AuthUser } from './upstream-types.js';

export interface ActiveUserCache {
  /** The cached answer for `userId` if still fresh, else `load()`'s, remembered when active. */
  get(userId: string, load: () => Promise<AuthUser>): Promise<AuthUser>;
}

export interface ActiveUserCacheOptions {
  /** How long an answer is used; 0 turns the cache off. */
  ttlMs: number;
  /** Entries kept at most; the least recently used leaves first. */
  maxEntries?: number;
  now?: () => number;
}

export function createActiveUserCache(options: ActiveUserCacheOptions): ActiveUserCache {
  if (options.ttlMs <= 0) return { get: (_userId, load) => load() };
  const entries = new LRUCache<string, AuthUser>({
    max: options.maxEntries ?? 10_000,
    ttl: options.ttlMs,
    // Read the clock on every check instead of lru-cache's 1 ms memo of it (and its timer).
    ttlResolution: 0,
    ...(options.now ? { perf: { now: options.now } } : {}),
  });
  return {
    async get(userId, load) {
      const hit = entries.get(userId);
      if (hit) return hit;
      const user = await load();
      if (user.status === 'active') entries.set(userId, user);
      return user;
    },
  };
}
