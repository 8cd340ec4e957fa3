/**
 * The reserve step's short memory of AuthService's answer for an **active** user (status and
 * limits), so a user who transfers again within a few seconds costs no AuthService call.
 *
 * What may be stale, and for how long (at most `ttlMs`):
 * - a user disabled meanwhile: AuthService denylists every access token of theirs at the
 *   disable, so the gateway refuses their next request at once; only a transfer the gateway
 *   accepted before the disable and reserved within `ttlMs` of the cached answer still reserves;
 * - limits: they change with the tier (email verified → higher limits), so a cached answer is
 *   at worst the stricter one.
 * Anything but `active` (pending, disabled, unknown, an outage) is never remembered: the next
 * reserve asks again, so an activation is seen at once.
 */
import type { AuthUser } from './upstream-types.js';

export interface ActiveUserCache {
  /** The cached answer for `userId` if still fresh, else `load()`'s, remembered when active. */
  get(userId: string, load: () => Promise<AuthUser>): Promise<AuthUser>;
}

export interface ActiveUserCacheOptions {
  /** How long an answer is used; 0 turns the cache off. */
  ttlMs: number;
  /** Entries kept at most; the oldest leaves first. */
  maxEntries?: number;
  now?: () => number;
}

export function createActiveUserCache(options: ActiveUserCacheOptions): ActiveUserCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { user: AuthUser; until: number }>();
  return {
    async get(userId, load) {
      const hit = entries.get(userId);
      if (hit && now() < hit.until) return hit.user;
      if (hit) entries.delete(userId);
      const user = await load();
      if (options.ttlMs > 0 && user.status === 'active') {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
        entries.set(userId, { user, until: now() + options.ttlMs });
      }
      return user;
    },
  };
}
