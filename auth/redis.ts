import type { createClient } from 'redis';
import { denylistKey } from '../lib/denylist.js';

/** The node-redis client AuthService uses for OTP codes, counters, denylist and short-lived state. */
export type RedisClient = ReturnType<typeof createClient>;

/** Redis key names in one place; the denylist's is shared with the gateway (lib/denylist.ts). */
export const redisKeys = {
  denylist: denylistKey,
  userTokens: (userId: string) => `auth:tokens:user:${userId}`,
  familyTokens: (familyId: string) => `auth:tokens:family:${familyId}`,
  registration: (id: string) => `auth:registration:${id}`,
  otp: (purpose: string, subject: string, challengeId: string) =>
    `auth:otp:${purpose}:${subject}:${challengeId}`,
  otpChallenge: (challengeId: string) => `auth:otp-challenge:${challengeId}`,
  otpCooldown: (purpose: string, subject: string, reference: string) =>
    `auth:otp-cooldown:${purpose}:${subject}:${reference}`,
  /** Codes sent for a (purpose, subject) this hour, across references. */
  otpHourly: (purpose: string, subject: string) => `auth:otp-hourly:${purpose}:${subject}`,
  /** The newest challenge of a (purpose, subject, reference): a resend revokes the one it names. */
  otpCurrent: (purpose: string, subject: string, reference: string) =>
    `auth:otp-current:${purpose}:${subject}:${reference}`,
  /** Wrong codes of a (purpose, subject) in the current window, across challenges. */
  otpFailures: (purpose: string, subject: string) => `auth:otp-failures:${purpose}:${subject}`,
  loginConsecutive: 'auth:login-fail-ip-account',
  loginPerIpDay: 'auth:login-fail-ip-day',
  /** The addresses with failures counted against an account, so a password reset can clear them all. */
  loginFailedIps: (email: string) => `auth:login-fail-ips:${email}`,
  /** When the user's password last changed (epoch ms): sign-ins from before it are void. */
  passwordChanged: (userId: string) => `auth:password-changed:${userId}`,
  idempotency: (scope: string, key: string) => `auth:idem:${scope}:${key}`,
  authorizationRequest: (id: string) => `auth:authz-request:${id}`,
  authorizationCode: (hash: string) => `auth:authz-code:${hash}`,
  devOutbox: (recipient: string) => `auth:dev-outbox:${recipient}`,
} as const;
