import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../test/support/test-env.js';
import { createSyncedRateLimiter } from './rate-limit.js';

let redis: ReturnType<typeof createClient>;
beforeAll(async () => {
  redis = createClient({ url: testEnv('redisUrl'), disableOfflineQueue: true });
  await redis.connect();
});
afterAll(async () => redis?.close());

const limits = { ipPerMinute: 5, authPerMinute: 5, userPerMinute: 5 };

describe('rate limits counted locally and shared through Redis', () => {
  it('enforces the budget exactly within one gateway copy, without waiting for Redis', async () => {
    const limiter = createSyncedRateLimiter(redis, limits, {
      keyPrefix: `gw:test:${randomUUID()}`,
      syncIntervalMs: 60_000,
    });
    try {
      const decisions = [];
      for (let i = 0; i < 6; i++) decisions.push(await limiter.consume('user', 'ada'));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
      expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
      expect(decisions[5]!.resetSeconds).toBeGreaterThan(0);
      expect((await limiter.consume('user', 'bob')).allowed).toBe(true);
      expect((await limiter.consume('ip', 'ada')).allowed).toBe(true);
    } finally {
      limiter.stop();
    }
  });

  it('lets copies learn what the others spent at each sync', async () => {
    const keyPrefix = `gw:test:${randomUUID()}`;
    const a = createSyncedRateLimiter(redis, limits, { keyPrefix, syncIntervalMs: 60_000 });
    const b = createSyncedRateLimiter(redis, limits, { keyPrefix, syncIntervalMs: 60_000 });
    try {
      for (let i = 0; i < 4; i++) expect((await a.consume('user', 'carol')).allowed).toBe(true);
      await a.sync();
      await b.consume('user', 'carol'); // b's first point: 1 local, 0 known from a
      await b.sync(); // b learns the shared total: 4 + 1
      expect((await b.consume('user', 'carol')).allowed).toBe(false);
      const keys = await redis.keys(`${keyPrefix}:user:carol:*`);
      expect(keys).toHaveLength(1);
      expect(Number(await redis.get(keys[0]!))).toBe(5);
      expect(await redis.pTTL(keys[0]!)).toBeGreaterThan(0);
    } finally {
      a.stop();
      b.stop();
    }
  });

  it('keeps limiting on its own while Redis is unreachable', async () => {
    const offline = createClient({ url: 'redis://127.0.0.1:9', disableOfflineQueue: true });
    const errors: unknown[] = [];
    const limiter = createSyncedRateLimiter(offline, limits, {
      syncIntervalMs: 60_000,
      onSyncError: (e) => errors.push(e),
    });
    try {
      for (let i = 0; i < 5; i++) expect((await limiter.consume('auth', '198.51.100.1')).allowed).toBe(true);
      await limiter.sync();
      expect(errors).toHaveLength(1);
      expect((await limiter.consume('auth', '198.51.100.1')).allowed).toBe(false);
    } finally {
      limiter.stop();
    }
  });
});
