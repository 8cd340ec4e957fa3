import { createHash } from 'node:crypto';
import { redisKeys, type RedisClient } from '../redis.js';
import { OtpError } from './otp.errors.js';
import { OTP_MAX_PER_HOUR, OTP_RESEND_COOLDOWN_SECONDS, type OtpPurpose } from './otp.service.js';

/** The key an email address is counted and decoyed under (its SHA-256: no address in key names). */
export function emailKeyOf(normalisedEmail: string): string {
  return createHash('sha256').update(normalisedEmail).digest('hex');
}

/** The OTP subject of a decoy challenge for an email without an account (never a user id). */
export const decoySubject = (emailKey: string) => `decoy-${emailKey.slice(0, 32)}`;
export const isDecoySubject = (subject: string) => subject.startsWith('decoy-');

/**
 * The resend cooldown (60 s) and hourly cap (10) of a public "send me a code" request, keyed by
 * the email and applied before the account is looked up: known and unknown emails meet the
 * same 429s at the same moments, so the limits tell nothing about who has an account.
 */
export async function limitRequestsForEmail(
  redis: RedisClient,
  purpose: OtpPurpose,
  emailKey: string,
): Promise<{ allowed: true } | { error: OtpError.Cooldown; retryAfterSeconds: number }> {
  const cooldownKey = redisKeys.otpCooldown(purpose, emailKey, 'request');
  const first = await redis.set(cooldownKey, '1', {
    expiration: { type: 'EX', value: OTP_RESEND_COOLDOWN_SECONDS },
    condition: 'NX',
  });
  if (first === null) {
    return { error: OtpError.Cooldown, retryAfterSeconds: Math.max(1, await redis.ttl(cooldownKey)) };
  }
  const hourlyKey = redisKeys.otpCooldown(purpose, emailKey, 'hour');
  const [sentThisHour] = (await redis
    .multi()
    .incr(hourlyKey)
    .expire(hourlyKey, 3600, 'NX')
    .exec()) as unknown as [number];
  if (sentThisHour > OTP_MAX_PER_HOUR) {
    return { error: OtpError.Cooldown, retryAfterSeconds: Math.max(1, await redis.ttl(hourlyKey)) };
  }
  return { allowed: true };
}
