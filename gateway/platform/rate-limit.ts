import type { MiddlewareHandler } from 'hono';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ProblemError } from '../../lib/problem.js';
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

/**
 * Fixed-window counters in Redis (shared by every gateway copy). If Redis fails, each copy
 * falls back to an in-memory limiter with the same budget rather than failing open.
 */
export function createRedisRateLimiter(
  storeClient: unknown,
  limits: RateLimits,
  keyPrefix = 'gw:rl',
): RateLimiter {
  const make = (bucket: RateBucket, points: number) =>
    new RateLimiterRedis({
      storeClient,
      useRedisPackage: true,
      rejectIfRedisNotReady: true,
      keyPrefix: `${keyPrefix}:${bucket}`,
      points,
      duration: 60,
      insuranceLimiter: new RateLimiterMemory({
        keyPrefix: `${keyPrefix}:${bucket}:mem`,
        points,
        duration: 60,
      }),
    });
  const limiters: Record<RateBucket, RateLimiterRedis> = {
    ip: make('ip', limits.ipPerMinute),
    auth: make('auth', limits.authPerMinute),
    user: make('user', limits.userPerMinute),
  };
  return {
    async consume(bucket, key) {
      const limiter = limiters[bucket];
      try {
        const res = await limiter.consume(key);
        return decision(true, limiter.points, res);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return decision(false, limiter.points, rejection);
        throw rejection;
      }
    },
  };
}

function decision(allowed: boolean, limit: number, res: RateLimiterRes): RateDecision {
  return {
    allowed,
    limit,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
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
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    if (!d.allowed) {
      c.header('retry-after', String(d.resetSeconds));
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
