import { describe, expect, it } from 'vitest';
import { createActiveUserCache } from './active-user-cache.js';
import type { AuthUser } from './upstream-types.js';

const user = (id: string, status = 'active') => ({ user_id: id, status }) as unknown as AuthUser;

describe('createActiveUserCache', () => {
  it('keeps at most maxEntries users, dropping the least recently used first', async () => {
    const loads: string[] = [];
    const cache = createActiveUserCache({ ttlMs: 5000, maxEntries: 2 });
    const get = (id: string) => cache.get(id, async () => (loads.push(id), user(id)));
    for (const id of ['a', 'b', 'a', 'c', 'a', 'b']) await get(id);
    // 'c' pushed out 'b' (used before the second 'a'); 'a' stayed.
    expect(loads).toEqual(['a', 'b', 'c', 'b']);
  });

  it('asks every time when ttlMs is 0', async () => {
    let loads = 0;
    const cache = createActiveUserCache({ ttlMs: 0 });
    for (const _ of [1, 2, 3]) await cache.get('a', async () => (loads++, user('a')));
    expect(loads).toBe(3);
  });
});
