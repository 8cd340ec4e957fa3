import type { MiddlewareHandler } from 'hono';
import { ProblemError } from '../../lib/problem.js';
import { responseHeaders } from '../../lib/service-app.js';
import type { GatewayEnv } from './request-context.js';

/** The three budgets: every route per client IP, auth routes per IP (stricter), per user. */
export type RateBucket = 'ip' | 'auth' | 'user';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

export interface RateLimiter {
  consume(bucket: RateBucket, key: string): Promise<RateDecision>;
}

export interface RateLimits {
  ipPerMinute: number;
  authPerMinute: number;
  userPerMinute: number;
}

/** The Redis commands the shared counters need (a node-redis v5 client satisfies it). */
export interface RedisPipelineSource {
  multi(): RedisPipeline;
}
export interface RedisPipeline {
  incrBy(key: string, increment: number): RedisPipeline;
  pExpire(key: string, ms: number): RedisPipeline;
  execAsPipeline(): Promise<unknown[]>;
}

const WINDOW_MS = 60_000;

interface Counter {
  bucket: RateBucket;
  key: string;
  window: number;
  /** The total in Redis (all gateway copies) as of the last sync. */
  shared: number;
  /** Points spent here since the last sync. */
  pending: number;
}

export interface SyncedRateLimiter extends RateLimiter {
  /** Pushes pending points to Redis and reads the shared totals back (also runs on a timer). */
  sync(): Promise<void>;
  stop(): void;
}

/**
 * Fixed 60 s windows counted in memory and shared through Redis in the background: each copy
 * decides locally (no Redis round trip on the request path) from the shared total it last saw
 * plus what it spent since, and every `syncIntervalMs` adds its spent points to Redis
 * (`INCRBY`, one pipeline) and learns the others'. One copy enforces the budget exactly; with
 * several, a client can overspend by what the other copies let through in one sync interval
 * (e.g. 2 copies, 1 s: at most one extra second of traffic). If Redis fails, every copy goes on
 * counting on its own with the same budget rather than failing open.
 */
export function createSyncedRateLimiter(
  redis: RedisPipelineSource,
  limits: RateLimits,
  options: { keyPrefix?: string; syncIntervalMs?: number; onSyncError?: (err: unknown) => void } = {},
): SyncedRateLimiter {
  const keyPrefix = options.keyPrefix ?? 'gw:rl';
  const budget: Record<RateBucket, number> = {
    ip: limits.ipPerMinute,
    auth: limits.authPerMinute,
    user: limits.userPerMinute,
  };
  const counters = new Map<string, Counter>();
  let syncing: Promise<void> | undefined;

  async function pushAndPull(): Promise<void> {
    const window = Math.floor(Date.now() / WINDOW_MS);
    const batch: { counter: Counter; n: number; redisKey: string }[] = [];
    for (const [id, counter] of counters) {
      if (counter.window < window) counters.delete(id);
      else if (counter.pending > 0)
        batch.push({
          counter,
          n: counter.pending,
          redisKey: `${keyPrefix}:${counter.bucket}:${counter.key}:${counter.window}`,
        });
    }
    if (batch.length === 0) return;
    const pipeline = redis.multi();
    for (const { redisKey, n } of batch) pipeline.incrBy(redisKey, n).pExpire(redisKey, WINDOW_MS + 5_000);
    const replies = await pipeline.execAsPipeline();
    batch.forEach(({ counter, n }, i) => {
      counter.pending -= n;
      counter.shared = Number(replies[i * 2]);
    });
  }

  const sync = () => {
    syncing ??= pushAndPull()
      .catch((err: unknown) => options.onSyncError?.(err))
      .finally(() => {
        syncing = undefined;
      });
    return syncing;
  };
  const timer = setInterval(() => void sync(), options.syncIntervalMs ?? 1000);
  timer.unref();

  return {
    async consume(bucket, key) {
      const now = Date.now();
      const window = Math.floor(now / WINDOW_MS);
      const id = `${bucket}\u0000${key}`;
      let counter = counters.get(id);
      if (!counter || counter.window !== window) {
        counter = { bucket, key, window, shared: 0, pending: 0 };
        counters.set(id, counter);
      }
      const limit = budget[bucket];
      const used = counter.shared + counter.pending;
      const resetSeconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
      if (used >= limit) return { allowed: false, limit, remaining: 0, resetSeconds };
      counter.pending += 1;
      return { allowed: true, limit, remaining: Math.max(0, limit - used - 1), resetSeconds };
    },
    sync,
    stop: () => clearInterval(timer),
  };
}

/**
 * Spends one point of `bucket` for the key `keyOf` returns (skipped when it returns nothing).
 * Sets `RateLimit-*` headers; over budget answers 429 with `Retry-After`.
 */
export function rateLimit(
  limiter: RateLimiter,
  bucket: RateBucket,
  keyOf: (c: Parameters<MiddlewareHandler<GatewayEnv>>[0]) => string | undefined,
): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const key = keyOf(c);
    if (key === undefined) return next();
    const d = await limiter.consume(bucket, key);
    const headers = {
      'ratelimit-limit': String(d.limit),
      'ratelimit-remaining': String(d.remaining),
      'ratelimit-reset': String(d.resetSeconds),
      'ratelimit-policy': `${d.limit};w=60`,
    };
    // A later (narrower) budget overwrites the headers of an earlier one.
    Object.assign(responseHeaders(c), headers);
    if (!d.allowed) {
      throw new ProblemError(
        429,
        'rate_limited',
        'too many requests; retry later',
        { retry_after: d.resetSeconds },
        {
          ...headers,
          'retry-after': String(d.resetSeconds),
        },
      );
    }
    await next();
  };
}
