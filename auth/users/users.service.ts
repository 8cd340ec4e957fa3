import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { Database } from '../database.js';
import type { Notifier } from '../otp/notifier.js';
import { OtpError } from '../otp/otp.errors.js';
import {
  decoySubject,
  emailKeyOf,
  isDecoySubject,
  limitRequestsForEmail,
} from '../otp/email-request-limit.js';
import type { OtpService } from '../otp/otp.service.js';
import { redisKeys, type RedisClient } from '../redis.js';
import type { TokenService } from '../tokens/tokens.service.js';
import type { LoginThrottle } from './login-throttle.js';
import { reauthenticate } from './reauthenticate.js';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './password-hasher.js';
import { checkPassword, normaliseEmail, type PasswordProblem } from './password-policy.js';
import {
  activatePendingUser,
  findUserByEmail,
  findUserById,
  insertUserIfAbsent,
  markEmailVerified,
  setMfaEnabled,
  setUserStatus,
  updatePasswordHash,
} from './users.repository.js';
import { UserError } from './users.errors.js';
import type { User } from './users.table.js';

export const REGISTRATION_TTL_SECONDS = 900;

export interface TransferLimits {
  unverified: { perTransfer: bigint; daily: bigint };
  verified: { perTransfer: bigint; daily: bigint };
}

/** A parked registration: the password is already hashed, so it never enters a workflow history. */
interface ParkedRegistration {
  email: string;
  phone: string | null;
  password_hash: string;
  /** Set once the user row exists, so a retried create answers the same. */
  created?: { user_id: string; existing: boolean };
}

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

export interface InternalUserView {
  user_id: string;
  email: string;
  status: string;
  roles: string[];
  tier: 'unverified' | 'verified';
  limits: { per_transfer: string; daily: string };
  mfa_enabled: boolean;
}

export interface UserService {
  parkRegistration(
    input: { email: string; password: string; phone?: string | undefined },
    context: RequestContext,
  ): Promise<
    { registrationId: string; expiresAt: Date } | { error: UserError.WeakPassword; reason: PasswordProblem }
  >;
  createFromRegistration(
    registrationId: string,
    context: RequestContext,
  ): Promise<
    { userId: string; email?: string; status: string; existing: boolean } | UserError.RegistrationNotFound
  >;
  activate(userId: string): Promise<User | UserError.NotFound | UserError.UserDisabled>;
  disable(userId: string, reason: string, context: RequestContext): Promise<User | UserError.NotFound>;
  view(userId: string): Promise<InternalUserView | UserError.NotFound>;
  findById(userId: string): Promise<User | undefined>;
  /** Password check with brute-force throttling; sends a login OTP when the user enabled MFA. */
  authenticate(
    input: { email: string; password: string },
    clientId: string,
    context: RequestContext,
  ): Promise<AuthenticateResult>;
  /** Completes a login OTP challenge. */
  completeLoginChallenge(
    challengeId: string,
    code: string,
    context: RequestContext,
  ): Promise<ChallengeResult>;
  /** Sends an email-verification code; answers the same for unknown emails. */
  sendEmailVerification(
    email: string,
    context: RequestContext,
  ): Promise<
    { challengeId: string; expiresAt: Date } | { error: OtpError.Cooldown; retryAfterSeconds: number }
  >;
  /** Records a verified email (the verify_email code was checked elsewhere, e.g. `/internal/otp/verify`). */
  confirmEmailVerified(userId: string, context: RequestContext): Promise<void>;
  verifyEmail(
    challengeId: string,
    code: string,
    context: RequestContext,
  ): Promise<{ verified: true } | Exclude<ChallengeResult, { user: User }>>;
  /**
   * Turns the second factor on or off after re-checking the password, under the login lockout
   * (the same counters as `authenticate`), and tells the user it changed.
   */
  setMfa(
    userId: string,
    password: string,
    enabled: boolean,
    context: RequestContext,
  ): Promise<
    | { mfaEnabled: boolean }
    | UserError.InvalidCredentials
    | UserError.NotFound
    | { error: UserError.AccountLocked; retryAfterSeconds: number }
  >;
}

export interface UserServiceDeps {
  db: Kysely<Database>;
  redis: RedisClient;
  otp: OtpService;
  tokens: TokenService;
  throttle: LoginThrottle;
  notifier: Notifier;
  audit: AuditLog;
  limits: TransferLimits;
}

export function createUserService(deps: UserServiceDeps): UserService {
  async function readRegistration(id: string): Promise<ParkedRegistration | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const raw = await deps.redis.get(redisKeys.registration(id));
    return raw ? (JSON.parse(raw) as ParkedRegistration) : undefined;
  }

  return {
    async parkRegistration(input, context) {
      const email = normaliseEmail(input.email);
      const problem = checkPassword(input.password, email);
      if (problem) {
        await deps.audit({ event: 'register', outcome: 'failure', context, details: { reason: problem } });
        return { error: UserError.WeakPassword, reason: problem };
      }
      const registration: ParkedRegistration = {
        email,
        phone: input.phone ?? null,
        password_hash: await hashPassword(input.password),
      };
      const registrationId = randomUUID();
      await deps.redis.set(redisKeys.registration(registrationId), JSON.stringify(registration), {
        expiration: { type: 'EX', value: REGISTRATION_TTL_SECONDS },
      });
      await deps.audit({
        event: 'register',
        outcome: 'success',
        context,
        details: { registration_id: registrationId },
      });
      return { registrationId, expiresAt: new Date(Date.now() + REGISTRATION_TTL_SECONDS * 1000) };
    },

    async createFromRegistration(registrationId, context) {
      const registration = await readRegistration(registrationId);
      if (!registration) return UserError.RegistrationNotFound;
      if (registration.created) {
        const { user_id, existing } = registration.created;
        return existing
          ? { userId: user_id, status: 'active', existing: true }
          : { userId: user_id, email: registration.email, status: 'pending', existing: false };
      }
      const user = await insertUserIfAbsent(deps.db, {
        email: registration.email,
        phone: registration.phone,
        password_hash: registration.password_hash,
        roles: ['user'],
        status: 'pending',
        email_verified_at: null,
        disabled_reason: null,
      });
      let created: ParkedRegistration['created'];
      if (user) {
        created = { user_id: user.id, existing: false };
        await deps.audit({
          event: 'user_created',
          outcome: 'success',
          subject: user.id,
          context,
          details: { registration_id: registrationId },
        });
      } else {
        // The email is taken: answer like a success with a random id and tell the real owner.
        created = { user_id: randomUUID(), existing: true };
        await deps.notifier.send({ recipient: registration.email, purpose: 'account_exists' });
        await deps.audit({
          event: 'user_created',
          outcome: 'failure',
          context,
          details: { registration_id: registrationId, reason: 'email_taken' },
        });
      }
      await deps.redis.set(
        redisKeys.registration(registrationId),
        JSON.stringify({ ...registration, password_hash: '', created }),
        {
          expiration: { type: 'KEEPTTL' },
        },
      );
      return created.existing
        ? { userId: created.user_id, status: 'active', existing: true }
        : { userId: created.user_id, email: registration.email, status: 'pending', existing: false };
    },

    async activate(userId) {
      const user = await activatePendingUser(deps.db, userId);
      if (!user) return UserError.NotFound;
      if (user.status === 'disabled') return UserError.UserDisabled;
      await deps.audit({ event: 'user_activated', outcome: 'success', subject: user.id });
      return user;
    },

    async disable(userId, reason, context) {
      const user = await setUserStatus(deps.db, userId, 'disabled', { disabled_reason: reason });
      if (!user) return UserError.NotFound;
      await deps.tokens.revokeAllSessions(user.id, 'user_disabled');
      await deps.audit({
        event: 'user_disabled',
        outcome: 'success',
        subject: user.id,
        context,
        details: { reason },
      });
      return user;
    },

    async view(userId) {
      const user = await findUserById(deps.db, userId);
      if (!user) return UserError.NotFound;
      const tier = user.email_verified_at ? 'verified' : 'unverified';
      const limits = deps.limits[tier];
      return {
        user_id: user.id,
        email: user.email,
        status: user.status,
        roles: user.roles,
        tier,
        limits: { per_transfer: limits.perTransfer.toString(), daily: limits.daily.toString() },
        mfa_enabled: user.mfa_enabled,
      };
    },

    findById: (userId) => findUserById(deps.db, userId),

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

    async completeLoginChallenge(challengeId, code, context) {
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

    async sendEmailVerification(email, context) {
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

    async confirmEmailVerified(userId, context) {
      await markEmailVerified(deps.db, userId, new Date());
      await deps.audit({ event: 'email_verified', outcome: 'success', subject: userId, context });
    },

    async verifyEmail(challengeId, code, context) {
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
      await markEmailVerified(deps.db, challenge.subject, new Date());
      await deps.audit({ event: 'email_verified', outcome: 'success', subject: challenge.subject, context });
      return { verified: true };
    },

    async setMfa(userId, password, enabled, context) {
      const user = await findUserById(deps.db, userId);
      if (!user) return UserError.NotFound;
      const refused = await reauthenticate(deps, user, password, context, {
        locked: 'mfa_changed',
        badPassword: 'login',
        badPasswordReason: 'mfa_change_bad_password',
      });
      if (refused?.error === UserError.InvalidCredentials) return UserError.InvalidCredentials;
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
