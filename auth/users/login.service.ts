import type { Kysely } from 'kysely';
import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { Database } from '../database.js';
import type { Notifier } from '../otp/notifier.js';
import { OtpError } from '../otp/otp.errors.js';
import type { OtpService } from '../otp/otp.service.js';
import type { LoginThrottle } from './login-throttle.js';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './password-hasher.js';
import { normaliseEmail } from './password-policy.js';
import { reauthenticate, type ReauthenticationRefusal } from './reauthenticate.js';
import { findUserByEmail, findUserById, setMfaEnabled, updatePasswordHash } from './users.repository.js';
import { UserError } from './users.errors.js';
import type { User } from './users.table.js';

export type AuthenticateResult =
  | { user: User }
  | { mfaRequired: true; challengeId: string }
  | { error: Exclude<UserError, UserError.AccountLocked | UserError.WeakPassword> }
  | { error: UserError.AccountLocked; retryAfterSeconds: number }
  | { error: OtpError.Cooldown; retryAfterSeconds: number };

export type ChallengeResult =
  | { user: User }
  | { error: OtpError.Invalid; attemptsLeft: number }
  | { error: OtpError.Expired | OtpError.Exhausted | UserError.AccountNotActive };

/** Signing in with a password (and the emailed second factor), and turning that factor on or off. */
export interface LoginService {
  /** Password check with brute-force throttling; sends a login OTP when the user enabled MFA. */
  authenticate(
    input: { email: string; password: string },
    clientId: string,
    context: RequestContext,
  ): Promise<AuthenticateResult>;
  /** Completes a login OTP challenge. */
  completeChallenge(challengeId: string, code: string, context: RequestContext): Promise<ChallengeResult>;
  /**
   * Turns the second factor on or off after re-checking the password, under the login lockout
   * (the same counters as `authenticate`), and tells the user it changed.
   */
  setMfa(
    userId: string,
    password: string,
    enabled: boolean,
    context: RequestContext,
  ): Promise<{ mfaEnabled: boolean } | ReauthenticationRefusal | { error: UserError.NotFound }>;
}

export interface LoginServiceDeps {
  db: Kysely<Database>;
  otp: OtpService;
  throttle: LoginThrottle;
  notifier: Notifier;
  audit: AuditLog;
}

export function createLoginService(deps: LoginServiceDeps): LoginService {
  return {
    async authenticate(input, clientId, context) {
      const email = normaliseEmail(input.email);
      const ip = context.ip ?? 'unknown';
      const verdict = await deps.throttle.check(ip, email);
      if (!verdict.allowed) {
        await deps.audit({
          event: 'login',
          outcome: 'failure',
          clientId,
          context,
          details: { reason: 'locked' },
        });
        return { error: UserError.AccountLocked, retryAfterSeconds: verdict.retryAfterSeconds };
      }
      const user = await findUserByEmail(deps.db, email);
      // Unknown email: verify against a dummy hash so both paths cost one Argon2 verification.
      const ok = await verifyPassword(user?.password_hash ?? (await dummyPasswordHash()), input.password);
      if (!user || !ok) {
        const { locked } = await deps.throttle.recordFailure(ip, email);
        await deps.audit({
          event: 'login',
          outcome: 'failure',
          subject: user?.id ?? null,
          clientId,
          context,
          details: { reason: user ? 'bad_password' : 'unknown_email' },
        });
        if (locked)
          await deps.audit({
            event: 'lockout',
            outcome: 'failure',
            subject: user?.id ?? null,
            clientId,
            context,
          });
        return { error: UserError.InvalidCredentials };
      }
      await deps.throttle.recordSuccess(ip, email);
      if (user.status !== 'active') {
        await deps.audit({
          event: 'login',
          outcome: 'failure',
          subject: user.id,
          clientId,
          context,
          details: { reason: `status_${user.status}` },
        });
        return { error: UserError.AccountNotActive };
      }
      if (needsRehash(user.password_hash))
        await updatePasswordHash(deps.db, user.id, await hashPassword(input.password));
      if (user.mfa_enabled) {
        const sent = await deps.otp.send({
          purpose: 'login',
          subject: user.id,
          recipient: user.email,
          reference: 'login',
          context,
        });
        if ('error' in sent) return sent;
        await deps.audit({
          event: 'mfa_challenge',
          outcome: 'success',
          subject: user.id,
          clientId,
          context,
          details: { challenge_id: sent.challengeId },
        });
        return { mfaRequired: true, challengeId: sent.challengeId };
      }
      await deps.audit({ event: 'login', outcome: 'success', subject: user.id, clientId, context });
      return { user };
    },

    async completeChallenge(challengeId, code, context) {
      const challenge = await deps.otp.challenge(challengeId);
      if (challenge?.purpose !== 'login') return { error: OtpError.Expired };
      const result = await deps.otp.verify({
        purpose: 'login',
        subject: challenge.subject,
        challengeId,
        code,
        context,
      });
      if ('error' in result) return result;
      const user = await findUserById(deps.db, challenge.subject);
      if (user?.status !== 'active') return { error: UserError.AccountNotActive };
      await deps.audit({
        event: 'login',
        outcome: 'success',
        subject: user.id,
        context,
        details: { mfa: true },
      });
      return { user };
    },

    async setMfa(userId, password, enabled, context) {
      const user = await findUserById(deps.db, userId);
      if (!user) return { error: UserError.NotFound };
      const refused = await reauthenticate(deps, user, password, context, {
        locked: 'mfa_changed',
        badPassword: 'login',
        badPasswordReason: 'mfa_change_bad_password',
      });
      if (refused) return refused;
      await setMfaEnabled(deps.db, user.id, enabled);
      // Through the same channel as every security notice: the owner learns of a change they
      // did not make.
      await deps.notifier.send({ recipient: user.email, purpose: enabled ? 'mfa_enabled' : 'mfa_disabled' });
      await deps.audit({
        event: 'mfa_changed',
        outcome: 'success',
        subject: user.id,
        context,
        details: { enabled },
      });
      return { mfaEnabled: enabled };
    },
  };
}
