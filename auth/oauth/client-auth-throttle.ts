import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../redis.js';

/** Failed client authentications one address may make per window. */
const CLIENT_AUTH_MAX_FAILURES = 20;
/** The window, and how long an address that used it up is blocked: 10 minutes. */
const CLIENT_AUTH_WINDOW_SECONDS = 600;

/**
 * Throttles guessing of client secrets per IP. Each attempt costs an Argon2 verification, so
 * this also keeps the token endpoint from being used to burn CPU.
 */
export interface ClientAuthThrottle {
  /** Seconds to wait when the address is blocked, undefined when it may try. */
  blockedFor(ip: string): Promise<number | undefined>;
  recordFailure(ip: string): Promise<void>;
}

export function createClientAuthThrottle(redis: RedisClient): ClientAuthThrottle {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    useRedisPackage: true,
    keyPrefix: 'auth:client-auth-fail',
    points: CLIENT_AUTH_MAX_FAILURES - 1,
    duration: CLIENT_AUTH_WINDOW_SECONDS,
    blockDuration: CLIENT_AUTH_WINDOW_SECONDS,
  });
  return {
    async blockedFor(ip) {
      const res = await limiter.get(ip);
      return res && res.consumedPoints > limiter.points
        ? Math.max(1, Math.ceil(res.msBeforeNext / 1000))
        : undefined;
    },
    async recordFailure(ip) {
      try {
        await limiter.consume(ip);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err;
      }
    },
  };
}
