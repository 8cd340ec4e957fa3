import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisClient } from '../redis.js';

/** Failed client authentications one address may make per 10 minutes. */
export const CLIENT_AUTH_MAX_FAILURES = 20;

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
    duration: 600,
    blockDuration: 600,
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
