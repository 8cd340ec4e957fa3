import type { RedisClient } from '../redis.js';
import { OtpError } from './otp.errors.js';

/** A code may be sent again for the same key after this long. */
const OTP_RESEND_COOLDOWN_SECONDS = 60;
/** Codes sent per key per hour. */
const OTP_MAX_PER_HOUR = 10;
const HOUR_SECONDS = 3600;

export type SendLimitVerdict = { allowed: true } | { error: OtpError.Cooldown; retryAfterSeconds: number };

/**
 * The one throttle in front of every code sent: a resend cooldown, then an hourly cap. OtpService
 * counts per challenge subject, the public "send me a code" routes per email before any lookup
 * (email-request-limit.ts); each passes its own two keys. A request refused by the cap still
 * starts a cooldown, and refused requests still count (a flood does not reset the hour).
 */
export async function limitOtpSends(
  redis: RedisClient,
  keys: { cooldown: string; hourly: string },
): Promise<SendLimitVerdict> {
  const first = await redis.set(keys.cooldown, '1', {
    expiration: { type: 'EX', value: OTP_RESEND_COOLDOWN_SECONDS },
    condition: 'NX',
  });
  if (first === null) {
    return { error: OtpError.Cooldown, retryAfterSeconds: Math.max(1, await redis.ttl(keys.cooldown)) };
  }
  const [sentThisHour, , msLeft] = (await redis
    .multi()
    .incr(keys.hourly)
    .expire(keys.hourly, HOUR_SECONDS, 'NX')
    .pTTL(keys.hourly)
    .exec()) as unknown as [number, number, number];
  if (sentThisHour > OTP_MAX_PER_HOUR) {
    return { error: OtpError.Cooldown, retryAfterSeconds: Math.max(1, Math.ceil(msLeft / 1000)) };
  }
  return { allowed: true };
}
