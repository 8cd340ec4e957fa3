import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { redisKeys, type RedisClient } from '../redis.js';

export interface LoginThrottleOptions {
  maxConsecutiveFailures: number;
  lockSeconds: number;
  maxFailuresPerIpPerDay: number;
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Brute-force protection for password logins (ASVS 6.3, rate-limiter-flexible's "login endpoint"
 * recipe): consecutive failures per IP+account lock that pair, and failures per IP per day cap
 * password spraying across accounts. A success clears the IP+account counter.
 */
export interface LoginThrottle {
  check(ip: string, email: string): Promise<ThrottleVerdict>;
  /** Counts a failure; reports whether this failure locked the pair (for the audit trail). */
  recordFailure(ip: string, email: string): Promise<{ locked: boolean }>;
  recordSuccess(ip: string, email: string): Promise<void>;
  /**
   * Clears the account's lockouts from every address (a completed password reset: whoever held
   * the old password is out, the owner must not stay locked out). The per-IP daily budget
   * belongs to the address, not the account, and stays.
   */
  clearAccount(email: string): Promise<void>;
}

const DAY_SECONDS = 86_400;
/** Consecutive failures of an IP+account pair are remembered this long (until a success clears them). */
const PAIR_MEMORY_SECONDS = 90 * DAY_SECONDS;
/** The longest email address a counter is keyed by (RFC 3696: 320); longer input is cut. */
const ACCOUNT_KEY_MAX_LENGTH = 320;

export function createLoginThrottle(redis: RedisClient, options: LoginThrottleOptions): LoginThrottle {
  // points = max - 1: the max-th failure exceeds the budget and starts the block at once.
  const byIpAndAccount = new RateLimiterRedis({
    storeClient: redis,
    useRedisPackage: true,
    keyPrefix: redisKeys.loginConsecutive,
    points: options.maxConsecutiveFailures - 1,
    duration: PAIR_MEMORY_SECONDS,
    blockDuration: options.lockSeconds,
  });
  const byIpPerDay = new RateLimiterRedis({
    storeClient: redis,
    useRedisPackage: true,
    keyPrefix: redisKeys.loginPerIpDay,
    points: options.maxFailuresPerIpPerDay - 1,
    duration: DAY_SECONDS,
    blockDuration: DAY_SECONDS,
  });
  const account = (email: string) => email.slice(0, ACCOUNT_KEY_MAX_LENGTH);
  const pairKey = (ip: string, email: string) => `${account(email)}|${ip}`;

  return {
    async check(ip, email) {
      const [pair, perIp] = await Promise.all([byIpAndAccount.get(pairKey(ip, email)), byIpPerDay.get(ip)]);
      let retry = 0;
      if (pair && pair.consumedPoints > byIpAndAccount.points) retry = Math.max(retry, pair.msBeforeNext);
      if (perIp && perIp.consumedPoints > byIpPerDay.points) retry = Math.max(retry, perIp.msBeforeNext);
      return retry > 0
        ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retry / 1000)) }
        : { allowed: true };
    },

    async recordFailure(ip, email) {
      // Remember which addresses hold a counter for this account (clearAccount deletes them).
      const ipsKey = redisKeys.loginFailedIps(account(email));
      await redis.multi().sAdd(ipsKey, ip).expire(ipsKey, PAIR_MEMORY_SECONDS).exec();
      let locked = false;
      for (const [limiter, key] of [
        [byIpAndAccount, pairKey(ip, email)],
        [byIpPerDay, ip],
      ] as const) {
        try {
          await limiter.consume(key);
        } catch (err) {
          if (!(err instanceof RateLimiterRes)) throw err;
          locked = true;
        }
      }
      return { locked };
    },

    async recordSuccess(ip, email) {
      await byIpAndAccount.delete(pairKey(ip, email));
    },

    async clearAccount(email) {
      const ipsKey = redisKeys.loginFailedIps(account(email));
      const ips = await redis.sMembers(ipsKey);
      await Promise.all(ips.map((ip) => byIpAndAccount.delete(pairKey(ip, email))));
      await redis.del(ipsKey);
    },
  };
}
