import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUuid } from '../../lib/uuid.js';
import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { Database } from '../database.js';
import type { Notifier } from '../otp/notifier.js';
import { redisKeys, type RedisClient } from '../redis.js';
import { hashPassword } from './password-hasher.js';
import { checkPassword, normaliseEmail, type PasswordProblem } from './password-policy.js';
import { insertUserIfAbsent, reclaimStalePendingUser } from './users.repository.js';
import { UserError } from './users.errors.js';

/** How long a parked registration waits for the onboarding workflow to create the user. */
const REGISTRATION_TTL_SECONDS = 900;

/**
 * A pending user untouched for this long belongs to an onboarding that will never finish (an
 * operator terminated it, or it stopped between creating and activating the user), so a new
 * registration for its email takes the row over instead of answering "already registered" for
 * good. A live onboarding is far younger: its wallet and activation calls retry for 5 minutes
 * each and its undo for 10 (temporal-config/activity-options.ts); a day leaves room for a worker
 * outage of hours on top, so a run that is merely slow is never hijacked mid-way.
 */
export const STALE_PENDING_USER_SECONDS = 24 * 60 * 60;

/** A parked registration: the password is already hashed, so it never enters a workflow history. */
interface ParkedRegistration {
  email: string;
  phone: string | null;
  password_hash: string;
  /** Set once the user row exists, so a retried create answers the same. */
  created?: { user_id: string; existing: boolean };
}

export type CreatedUser =
  | { userId: string; email: string; status: 'pending'; existing: false }
  | { userId: string; status: 'active'; existing: true };

/**
 * Registration in two steps for the onboarding workflow: `park` checks the password policy and
 * keeps the request (hash only) in Redis; `createUser` turns it into a pending user. An email
 * that is taken answers like a success with a random id, and its owner is told; a pending user
 * older than `STALE_PENDING_USER_SECONDS` is not an owner but an abandoned sign-up, and the new
 * registration takes its row over.
 */
export interface RegistrationService {
  park(
    input: { email: string; password: string; phone?: string | undefined },
    context: RequestContext,
  ): Promise<
    { registrationId: string; expiresAt: Date } | { error: UserError.WeakPassword; reason: PasswordProblem }
  >;
  createUser(
    registrationId: string,
    context: RequestContext,
  ): Promise<CreatedUser | UserError.RegistrationNotFound>;
}

export interface RegistrationServiceDeps {
  db: Kysely<Database>;
  redis: RedisClient;
  notifier: Notifier;
  audit: AuditLog;
}

export function createRegistrationService(deps: RegistrationServiceDeps): RegistrationService {
  async function readRegistration(id: string): Promise<ParkedRegistration | undefined> {
    if (!isUuid(id)) return undefined;
    const raw = await deps.redis.get(redisKeys.registration(id));
    return raw ? (JSON.parse(raw) as ParkedRegistration) : undefined;
  }

  function answer(registration: ParkedRegistration, created: NonNullable<ParkedRegistration['created']>) {
    return created.existing
      ? ({ userId: created.user_id, status: 'active', existing: true } as const)
      : ({ userId: created.user_id, email: registration.email, status: 'pending', existing: false } as const);
  }

  return {
    async park(input, context) {
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

    async createUser(registrationId, context) {
      const registration = await readRegistration(registrationId);
      if (!registration) return UserError.RegistrationNotFound;
      if (registration.created) return answer(registration, registration.created);
      const inserted = await insertUserIfAbsent(deps.db, {
        email: registration.email,
        phone: registration.phone,
        password_hash: registration.password_hash,
        roles: ['user'],
        status: 'pending',
        email_verified_at: null,
        disabled_reason: null,
      });
      // Only a pending row left by an onboarding that never finished is taken; its owner never
      // had a usable account, so nobody is told. The same id means the new onboarding's
      // createWallet finds the wallet the old run may have made, and activateUser activates it.
      const reclaimed = inserted
        ? undefined
        : await reclaimStalePendingUser(
            deps.db,
            registration.email,
            registration,
            STALE_PENDING_USER_SECONDS,
          );
      const user = inserted ?? reclaimed;
      let created: NonNullable<ParkedRegistration['created']>;
      if (user) {
        created = { user_id: user.id, existing: false };
        await deps.audit({
          event: 'user_created',
          outcome: 'success',
          subject: user.id,
          context,
          details: {
            registration_id: registrationId,
            ...(reclaimed ? { reason: 'stale_pending_reclaimed' } : {}),
          },
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
      // The hash is no longer needed once the row exists; the answer is kept for retries.
      await deps.redis.set(
        redisKeys.registration(registrationId),
        JSON.stringify({ ...registration, password_hash: '', created }),
        { expiration: { type: 'KEEPTTL' } },
      );
      return answer(registration, created);
    },
  };
}
