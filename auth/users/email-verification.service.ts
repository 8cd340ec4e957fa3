import type { Kysely } from 'kysely';
import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { Database } from '../database.js';
import {
  decoySubject,
  emailKeyOf,
  isDecoySubject,
  limitRequestsForEmail,
} from '../otp/email-request-limit.js';
import { OtpError } from '../otp/otp.errors.js';
import type { OtpSendResult, OtpService } from '../otp/otp.service.js';
import type { RedisClient } from '../redis.js';
import type { ChallengeResult } from './login.service.js';
import { normaliseEmail } from './password-policy.js';
import { findUserByEmail, markEmailVerified } from './users.repository.js';
import type { User } from './users.table.js';

/** Proving the email address: a `verify_email` code, after which the user is in the verified tier. */
export interface EmailVerificationService {
  /** Sends an email-verification code; answers the same for unknown emails. */
  send(email: string, context: RequestContext): Promise<OtpSendResult>;
  /** Checks a code from the public `/v1/auth/otp/verify` and marks the email verified. */
  verify(
    challengeId: string,
    code: string,
    context: RequestContext,
  ): Promise<{ verified: true } | Exclude<ChallengeResult, { user: User }>>;
  /** Records a verified email (the code was checked elsewhere, e.g. `/internal/otp/verify`). */
  confirm(userId: string, context: RequestContext): Promise<void>;
}

export interface EmailVerificationServiceDeps {
  db: Kysely<Database>;
  redis: RedisClient;
  otp: OtpService;
  audit: AuditLog;
}

export function createEmailVerificationService(deps: EmailVerificationServiceDeps): EmailVerificationService {
  async function confirm(userId: string, context: RequestContext) {
    await markEmailVerified(deps.db, userId, new Date());
    await deps.audit({ event: 'email_verified', outcome: 'success', subject: userId, context });
  }

  return {
    confirm,

    async send(email, context) {
      const normalised = normaliseEmail(email);
      const emailKey = emailKeyOf(normalised);
      const limit = await limitRequestsForEmail(deps.redis, 'verify_email', emailKey);
      if ('error' in limit) return limit;
      const user = await findUserByEmail(deps.db, normalised);
      if (!user || user.status === 'disabled') {
        // A decoy challenge, keyed by the email: `/otp/verify` then answers `otp_invalid` with
        // the same `attempts_left` countdown and the same work as for a known email.
        return deps.otp.send({
          purpose: 'verify_email',
          subject: decoySubject(emailKey),
          recipient: normalised,
          reference: 'email',
          context,
          decoy: true,
        });
      }
      return deps.otp.send({
        purpose: 'verify_email',
        subject: user.id,
        recipient: user.email,
        reference: 'email',
        context,
      });
    },

    async verify(challengeId, code, context) {
      const challenge = await deps.otp.challenge(challengeId);
      if (challenge?.purpose !== 'verify_email') return { error: OtpError.Expired };
      const result = await deps.otp.verify({
        purpose: 'verify_email',
        subject: challenge.subject,
        challengeId,
        code,
        context,
      });
      if ('error' in result) return result;
      // A decoy's stored MAC matches no code; should one ever verify, there is no account to mark.
      if (isDecoySubject(challenge.subject)) return { error: OtpError.Expired };
      await confirm(challenge.subject, context);
      return { verified: true };
    },
  };
}
