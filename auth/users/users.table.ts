import type { ColumnType, Generated, Selectable } from 'kysely';

export const USER_ROLES = ['user', 'admin', 'operator'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const USER_STATUSES = ['pending', 'active', 'disabled'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/** `users`: one row per account. The email is stored normalised (trimmed, lower case) and unique. */
export interface UsersTable {
  id: Generated<string>;
  email: string;
  phone: string | null;
  password_hash: string;
  roles: UserRole[];
  status: UserStatus;
  mfa_enabled: Generated<boolean>;
  email_verified_at: Date | null;
  disabled_reason: string | null;
  created_at: Generated<Date>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type User = Selectable<UsersTable>;
