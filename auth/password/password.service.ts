import type { Kysely } from 'kysely';
import { isUuid } from '../../lib/uuid.js';
import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { Database } from '../database.js';
import type { Notifier } from '../otp/notifier.js';
import {
  decoySubject,
  emailKeyOf,
  isDecoySubject,
  limitRequestsForEmail,
} from '../otp/email-request-limit.js';
import { OtpError } from '../otp/otp.errors.js';
import type { OtpService } from '../otp/otp.service.js';
import { redisKeys, type RedisClient } from '../redis.js';
import type { TokenService } from '../tokens/tokens.service.js';
import type { LoginThrottle } from '../users/login-throttle.js';
import { reauthenticate } from '../users/reauthenticate.js';
import { hashPassword } from '../users/password-hasher.js';
import { checkPassword, normaliseEmail, type PasswordProblem } from '../users/password-policy.js';
import { findUserByEmail, findUserById, updatePasswordHash } from '../users/users.repository.js';
import { UserError } from '../users/users.errors.js';
import type { User } from '../users/users.table.js';

/** The reference of a reset challenge: one live reset code per account, a resend replaces it. */
const RESET_REFERENCE = 'password_reset';

/** What the owner is told (through the notifier, like every security notice) after a change or reset. */
const PASSWORD_CHANGED_NOTICE = 'password_changed';

export type WeakPassword = { error: UserError.WeakPassword; reason: PasswordProblem };
export type Locked = { error: UserError.AccountLocked; retryAfterSeconds: number };

export type ChangeResult =
  | { changed: true }
  | WeakPassword
  | Locked
  | { error: UserError.InvalidCredentials | UserError.NotFound | UserError.AccountNotActive };

export type ResetRequestResult =
  { expiresAt: Date } | { error: OtpError.Cooldown; retryAfterSeconds: number };

export type ResetConfirmResult =
  | { reset: true }
  | WeakPassword
  | { error: OtpError.Invalid; attemptsLeft: number }
  | { error: OtpError.Expired | OtpError.Exhausted };

export interface PasswordService {
  /**
   * Changes the password of a signed-in user after re-checking the current one (under the
   * login lockout, like `/mfa`), and ends every other session: `keepSessionId` is the caller's
   * refresh family (its `sid`), which lives on.
   */
  change(
    input: { userId: string; keepSessionId: string | undefined; current: string; next: string },
    context: RequestContext,
  ): Promise<ChangeResult>;
  /**
   * Sends a `password_reset` code to the email if it belongs to an active account; answers
   * the same, with the same limits and a decoy challenge, when it does not.
   */
  requestReset(email: string, context: RequestContext): Promise<ResetRequestResult>;
  /**
   * Sets a new password with the emailed code: every session and refresh family ends and the
   * account's login lockouts are cleared. Unknown emails get the same answers as known ones.
   */
  confirmReset(
    input: { email: string; code: string; next: string },
    context: RequestContext,
  ): Promise<ResetConfirmResult>;
  /**
   * True when the user's password changed at or after `since` (epoch milliseconds): a sign-in
   * whose password check began before a change (a `/login` racing a reset, an authorization code
   * issued before it) must not start a session.
   */
  changedSince(userId: string, since: number): Promise<boolean>;
}

export interface PasswordServiceDeps {
  db: Kysely<Database>;
  redis: RedisClient;
  otp: OtpService;
  tokens: TokenService;
  throttle: LoginThrottle;
  notifier: Notifier;
  audit: AuditLog;
}

/**
 * How long a password change voids sign-ins that happened before it: longer than anything that
 * carries a sign-in forward (an authorization code lives 60 s, a sign-in request 10 minutes).
 */
const PASSWORD_CHANGED_MEMORY_SECONDS = 3600;

export function createPasswordService(deps: PasswordServiceDeps): PasswordService {
  /**
   * Stores the new hash and revokes the refresh families in one transaction. The UPDATE of the
   * user row comes first: a refresh share-locks that row before it consumes its token, so no
   * refresh can slip a successor token past the revocation (refresh-tokens.repository.ts).
   */
  async function replacePassword(user: User, password: string, reason: string, keepFamilyId?: string) {
    const hash = await hashPassword(password);
    // Before the commit, so no sign-in from before the change can start a session in between.
    await deps.redis.set(redisKeys.passwordChanged(user.id), String(Date.now()), {
      expiration: { type: 'EX', value: PASSWORD_CHANGED_MEMORY_SECONDS },
    });
    await deps.db.transaction().execute(async (trx) => {
      await updatePasswordHash(trx, user.id, hash);
      await deps.tokens.revokeAllSessions(user.id, reason, {
        db: trx,
        ...(keepFamilyId === undefined ? {} : { keepFamilyId }),
      });
    });
    await deps.notifier.send({ recipient: user.email, purpose: PASSWORD_CHANGED_NOTICE });
  }

  /** An account that may reset its password; anyone else gets the decoy path. */
  const canReset = (user: User | undefined): user is User => user?.status === 'active';

  return {
    async changedSince(userId, since) {
      const changedAt = await deps.redis.get(redisKeys.passwordChanged(userId));
      return changedAt !== null && Number(changedAt) >= since;
    },

    async change({ userId, keepSessionId, current, next }, context) {
      const user = await findUserById(deps.db, userId);
      if (!user) return { error: UserError.NotFound };
      if (user.status !== 'active') return { error: UserError.AccountNotActive };
      const refused = await reauthenticate(deps, user, current, context, {
        locked: 'password_changed',
        badPassword: 'password_changed',
        badPasswordReason: 'bad_password',
      });
      if (refused) return refused;
      const problem = checkPassword(next, user.email);
      if (problem) {
        await deps.audit({
          event: 'password_changed',
          outcome: 'failure',
          subject: user.id,
          context,
          details: { reason: problem },
        });
        return { error: UserError.WeakPassword, reason: problem };
      }
      // The sid claim of a token we signed; anything else keeps no session at all.
      const keep = keepSessionId !== undefined && isUuid(keepSessionId) ? keepSessionId : undefined;
      await replacePassword(user, next, 'password_changed', keep);
      await deps.audit({
        event: 'password_changed',
        outcome: 'success',
        subject: user.id,
        context,
        details: keep === undefined ? {} : { kept_family_id: keep },
      });
      return { changed: true };
    },

    async requestReset(email, context) {
      const normalised = normaliseEmail(email);
      const emailKey = emailKeyOf(normalised);
      const limit = await limitRequestsForEmail(deps.redis, 'password_reset', emailKey);
      if ('error' in limit) return limit;
      const user = await findUserByEmail(deps.db, normalised);
      const known = canReset(user);
      // An unknown (or inactive) email gets a decoy challenge through the same code path: the
      // same Redis work and limits, a stored MAC no code matches, nothing delivered.
      const sent = await deps.otp.send({
        purpose: 'password_reset',
        subject: known ? user.id : decoySubject(emailKey),
        recipient: known ? user.email : normalised,
        reference: RESET_REFERENCE,
        context,
        decoy: !known,
      });
      if ('error' in sent) return sent;
      await deps.audit({
        event: 'password_reset_requested',
        outcome: known ? 'success' : 'failure',
        subject: known ? user.id : null,
        context,
        details: known ? { challenge_id: sent.challengeId } : { reason: 'no_such_account' },
      });
      return { expiresAt: sent.expiresAt };
    },

    async confirmReset({ email, code, next }, context) {
      const normalised = normaliseEmail(email);
      // The policy first: a weak choice must not spend the single-use code.
      const problem = checkPassword(next, normalised);
      if (problem) return { error: UserError.WeakPassword, reason: problem };
      const user = await findUserByEmail(deps.db, normalised);
      const known = canReset(user);
      const subject = known ? user.id : decoySubject(emailKeyOf(normalised));
      const challengeId = await deps.otp.currentChallenge('password_reset', subject, RESET_REFERENCE);
      const result = challengeId
        ? await deps.otp.verify({ purpose: 'password_reset', subject, challengeId, code, context })
        : ({ error: OtpError.Expired } as const);
      const failure = 'error' in result ? result : undefined;
      // A decoy's MAC matches no code; should one ever verify, there is no account to change.
      if (failure || !known || isDecoySubject(subject)) {
        await deps.audit({
          event: 'password_reset',
          outcome: 'failure',
          subject: known ? user.id : null,
          context,
          details: { reason: failure?.error ?? 'no_such_account' },
        });
        return failure ?? { error: OtpError.Expired };
      }
      await replacePassword(user, next, 'password_reset');
      // Whoever was guessing the old password is out now; the owner must not stay locked out.
      await deps.throttle.clearAccount(user.email);
      await deps.audit({ event: 'password_reset', outcome: 'success', subject: user.id, context });
      return { reset: true };
    },
  };
}
