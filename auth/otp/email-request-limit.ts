import { createHash } from 'node:crypto';
import { redisKeys, type RedisClient } from '../redis.js';
import type { OtpPurpose } from './otp.service.js';
import { limitOtpSends, type SendLimitVerdict } from './send-limit.js';

/** The key an email address is counted and decoyed under (its SHA-256: no address in key names). */
export function emailKeyOf(normalisedEmail: string): string {
  return createHash('sha256').update(normalisedEmail).digest('hex');
}

/** The OTP subject of a decoy challenge for an email without an account (never a user id). */
export const decoySubject = (emailKey: string) => `decoy-${emailKey.slice(0, 32)}`;
export const isDecoySubject = (subject: string) => subject.startsWith('decoy-');

/**
 * The resend cooldown and hourly cap (send-limit.ts) of a public "send me a code" request, keyed
 * by the email and applied before the account is looked up: known and unknown emails meet the
 * same 429s at the same moments, so the limits tell nothing about who has an account.
 */
export function limitRequestsForEmail(
  redis: RedisClient,
  purpose: OtpPurpose,
  emailKey: string,
): Promise<SendLimitVerdict> {
  return limitOtpSends(redis, {
    cooldown: redisKeys.otpCooldown(purpose, emailKey, 'request'),
    hourly: redisKeys.otpCooldown(purpose, emailKey, 'hour'),
  });
}
