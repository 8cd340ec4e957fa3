import type { ColumnType, Generated, Selectable } from 'kysely';

export type UserRole = 'user' | 'admin' | 'operator';

export type UserStatus = 'pending' | 'active' | 'disabled';

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
