import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { isUuid } from '../../lib/uuid.js';
import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import { redisKeys, type RedisClient } from '../redis.js';
import type { Notifier } from './notifier.js';
import { OtpError } from './otp.errors.js';
import { limitOtpSends } from './send-limit.js';

export const OTP_PURPOSES = ['login', 'verify_email', 'step_up', 'password_reset'] as const;
export type OtpPurpose = (typeof OTP_PURPOSES)[number];

/** Digits of a code: a million possibilities against OTP_MAX_ATTEMPTS guesses an hour. */
const OTP_DIGITS = 6;
const CODE_FORMAT = new RegExp(`^[0-9]{${OTP_DIGITS}}$`);
export const OTP_TTL_SECONDS = 300;
/**
 * Wrong codes a user may submit per purpose within OTP_FAILURE_WINDOW_SECONDS, across every
 * challenge: resending does not buy more guesses (10 sends × 5 attempts would be 50 an hour).
 */
export const OTP_MAX_ATTEMPTS = 5;
const OTP_FAILURE_WINDOW_SECONDS = 3600;

export interface OtpChallenge {
  challengeId: string;
  expiresAt: Date;
}

export type OtpSendResult = OtpChallenge | { error: OtpError.Cooldown; retryAfterSeconds: number };
export type OtpVerifyResult =
  | { ok: true }
  | { error: OtpError.Invalid; attemptsLeft: number }
  | { error: OtpError.Expired | OtpError.Exhausted };

export interface OtpService {
  /** Creates a challenge bound to (purpose, subject), stores only the code's HMAC and sends the code. */
  send(input: {
    purpose: OtpPurpose;
    subject: string;
    recipient: string;
    reference: string;
    context?: RequestContext;
    /**
     * A decoy for an address without an account: stored, limited and verified exactly like a
     * real challenge, with the same work, but its stored MAC is random (no code can match it)
     * and nothing is delivered.
     */
    decoy?: boolean;
  }): Promise<OtpSendResult>;
  /** Checks and consumes a code atomically: of two concurrent correct submissions one succeeds. */
  verify(input: {
    purpose: OtpPurpose;
    subject: string;
    challengeId: string;
    code: string;
    context?: RequestContext;
  }): Promise<OtpVerifyResult>;
  /** Which purpose and subject a challenge id was issued for (public verify endpoint). */
  challenge(challengeId: string): Promise<{ purpose: OtpPurpose; subject: string } | undefined>;
  /**
   * The live challenge of a (purpose, subject, reference) — the newest code sent — for flows
   * whose client answers with the code alone (password reset: email + code, no challenge id).
   */
  currentChallenge(purpose: OtpPurpose, subject: string, reference: string): Promise<string | undefined>;
}

// Verify-and-consume in one script, so no interleaving can accept a code twice or skip a count.
// KEYS[1] code hash, KEYS[2] challenge index, KEYS[3] the (purpose, subject) failure budget;
// ARGV[1] submitted HMAC, ARGV[2] failures allowed per window, ARGV[3] window in seconds.
// Once the budget is spent no code is compared at all, the right one included: a new challenge
// starts with the guesses that are left, not with fresh ones. A success clears the budget.
// The HMACs compared here are of pepper+binding+code, so comparing them leaks nothing useful.
const VERIFY_SCRIPT = `
local mac = redis.call('HGET', KEYS[1], 'mac')
if not mac then
  if redis.call('HGET', KEYS[1], 'dead') then return {'exhausted', 0} end
  return {'expired', 0}
end
local max = tonumber(ARGV[2])
local failures = tonumber(redis.call('GET', KEYS[3]) or '0')
if failures < max and mac == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return {'ok', 0}
end
if failures < max then
  failures = redis.call('INCR', KEYS[3])
  if failures == 1 then redis.call('EXPIRE', KEYS[3], ARGV[3]) end
end
local left = max - failures
if left <= 0 then
  redis.call('HDEL', KEYS[1], 'mac')
  redis.call('HSET', KEYS[1], 'dead', '1')
  return {'exhausted', 0}
end
return {'invalid', left}
`;

export interface OtpServiceDeps {
  redis: RedisClient;
  pepper: string;
  notifier: Notifier;
  audit: AuditLog;
}

export function createOtpService(deps: OtpServiceDeps): OtpService {
  function mac(purpose: string, subject: string, challengeId: string, code: string) {
    return createHmac('sha256', deps.pepper)
      .update(`${purpose}\n${subject}\n${challengeId}\n${code}`)
      .digest('hex');
  }

  return {
    async send({ purpose, subject, recipient, reference, context, decoy = false }) {
      const limit = await limitOtpSends(deps.redis, {
        cooldown: redisKeys.otpCooldown(purpose, subject, reference),
        hourly: redisKeys.otpHourly(purpose, subject),
      });
      if ('error' in limit) return limit;
      const challengeId = randomUUID();
      const code = randomInt(0, 10 ** OTP_DIGITS)
        .toString()
        .padStart(OTP_DIGITS, '0');
      const codeMac = mac(purpose, subject, challengeId, code);
      const key = redisKeys.otp(purpose, subject, challengeId);
      // A resend (same purpose, subject and reference) revokes the code it replaces: only the
      // newest code of a reference can be used. The cooldown above keeps two sends from racing.
      const currentKey = redisKeys.otpCurrent(purpose, subject, reference);
      const previous = await deps.redis.get(currentKey);
      const tx = deps.redis.multi();
      if (previous) tx.del([redisKeys.otp(purpose, subject, previous), redisKeys.otpChallenge(previous)]);
      await tx
        .hSet(key, { mac: decoy ? randomBytes(32).toString('hex') : codeMac })
        .expire(key, OTP_TTL_SECONDS)
        .set(redisKeys.otpChallenge(challengeId), JSON.stringify({ purpose, subject }), {
          expiration: { type: 'EX', value: OTP_TTL_SECONDS },
        })
        .set(currentKey, challengeId, { expiration: { type: 'EX', value: OTP_TTL_SECONDS } })
        .exec();
      if (decoy) {
        await deps.audit({
          event: 'otp_sent',
          outcome: 'failure',
          context,
          details: { purpose, challenge_id: challengeId, reason: 'no_such_account' },
        });
      } else {
        await deps.notifier.send({ recipient, purpose, code });
        await deps.audit({
          event: 'otp_sent',
          outcome: 'success',
          subject,
          context,
          details: { purpose, challenge_id: challengeId },
        });
      }
      return { challengeId, expiresAt: new Date(Date.now() + OTP_TTL_SECONDS * 1000) };
    },

    async verify({ purpose, subject, challengeId, code, context }) {
      const submitted = CODE_FORMAT.test(code) ? code : 'malformed';
      const reply = (await deps.redis.eval(VERIFY_SCRIPT, {
        keys: [
          redisKeys.otp(purpose, subject, challengeId),
          redisKeys.otpChallenge(challengeId),
          redisKeys.otpFailures(purpose, subject),
        ],
        arguments: [
          mac(purpose, subject, challengeId, submitted),
          String(OTP_MAX_ATTEMPTS),
          String(OTP_FAILURE_WINDOW_SECONDS),
        ],
      })) as [string, number];
      const [status, left] = reply;
      const details = { purpose, challenge_id: challengeId };
      if (status === 'ok') {
        await deps.audit({ event: 'otp_verified', outcome: 'success', subject, context, details });
        return { ok: true };
      }
      await deps.audit({
        event: 'otp_failed',
        outcome: 'failure',
        subject,
        context,
        details: { ...details, reason: status },
      });
      if (status === 'invalid') return { error: OtpError.Invalid, attemptsLeft: Number(left) };
      if (status === 'exhausted') return { error: OtpError.Exhausted };
      return { error: OtpError.Expired };
    },

    async challenge(challengeId) {
      if (!isUuid(challengeId)) return undefined;
      const raw = await deps.redis.get(redisKeys.otpChallenge(challengeId));
      if (!raw) return undefined;
      return JSON.parse(raw) as { purpose: OtpPurpose; subject: string };
    },

    async currentChallenge(purpose, subject, reference) {
      return (await deps.redis.get(redisKeys.otpCurrent(purpose, subject, reference))) ?? undefined;
    },
  };
}
