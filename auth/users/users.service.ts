import type { Kysely } from 'kysely';
import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { Database } from '../database.js';
import type { TokenService } from '../tokens/tokens.service.js';
import { activatePendingUser, findUserById, setUserStatus } from './users.repository.js';
import { UserError } from './users.errors.js';
import type { User } from './users.table.js';

export interface TransferLimits {
  unverified: { perTransfer: bigint; daily: bigint };
  verified: { perTransfer: bigint; daily: bigint };
}

/** What `/internal/users/:id` answers: the account as the orchestrator needs it for a transfer. */
export interface InternalUserView {
  user_id: string;
  email: string;
  status: string;
  roles: string[];
  tier: 'unverified' | 'verified';
  limits: { per_transfer: string; daily: string };
  mfa_enabled: boolean;
}

/** An account's life after registration: `pending` → `active` (onboarding) → `disabled`. */
export interface UserService {
  activate(userId: string): Promise<User | UserError.NotFound | UserError.UserDisabled>;
  /** Disables the account and ends every session it has. */
  disable(userId: string, reason: string, context: RequestContext): Promise<User | UserError.NotFound>;
  view(userId: string): Promise<InternalUserView | UserError.NotFound>;
  findById(userId: string): Promise<User | undefined>;
}

export interface UserServiceDeps {
  db: Kysely<Database>;
  tokens: TokenService;
  audit: AuditLog;
  limits: TransferLimits;
}

export function createUserService(deps: UserServiceDeps): UserService {
  return {
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
  };
}
