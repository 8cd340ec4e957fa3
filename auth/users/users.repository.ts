import { sql, type Insertable, type Kysely } from 'kysely';
import { isUuid } from '../../lib/uuid.js';
import type { Database } from '../database.js';
import type { User, UsersTable, UserStatus } from './users.table.js';

export async function findUserById(db: Kysely<Database>, id: string): Promise<User | undefined> {
  if (!isUuid(id)) return undefined;
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findUserByEmail(
  db: Kysely<Database>,
  normalisedEmail: string,
): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', normalisedEmail).executeTakeFirst();
}

/** Inserts a user; returns undefined when the email is taken. */
export async function insertUserIfAbsent(
  db: Kysely<Database>,
  row: Insertable<UsersTable>,
): Promise<User | undefined> {
  return db
    .insertInto('users')
    .values(row)
    .onConflict((oc) => oc.column('email').doNothing())
    .returningAll()
    .executeTakeFirst();
}

/**
 * Hands the pending row of `normalisedEmail` to a new registration when it has not changed for
 * `staleAfterSeconds`: same id, the new password hash and phone. Undefined when there is no such
 * row (none, active, disabled, or pending but recent). Every condition sits in the one UPDATE, so
 * of two registrations racing for one row only the first wins: the second re-reads the row it
 * waited for, finds `updated_at` just set, and matches nothing. Ages are measured on the
 * database's clock, the one that wrote `updated_at`.
 */
export async function reclaimStalePendingUser(
  db: Kysely<Database>,
  normalisedEmail: string,
  row: { password_hash: string; phone: string | null },
  staleAfterSeconds: number,
): Promise<User | undefined> {
  return db
    .updateTable('users')
    .set({
      password_hash: row.password_hash,
      phone: row.phone,
      // The new registrant has proved nothing about the mailbox yet.
      email_verified_at: null,
      updated_at: sql<Date>`now()`,
    })
    .where('email', '=', normalisedEmail)
    .where('status', '=', 'pending')
    .where('updated_at', '<', sql<Date>`now() - make_interval(secs => ${staleAfterSeconds})`)
    .returningAll()
    .executeTakeFirst();
}

/** Creates or updates a user by email (seeding the admin account at start). */
export async function upsertUserByEmail(db: Kysely<Database>, row: Insertable<UsersTable>): Promise<User> {
  return db
    .insertInto('users')
    .values(row)
    .onConflict((oc) =>
      oc.column('email').doUpdateSet({
        password_hash: row.password_hash,
        roles: row.roles,
        status: row.status,
        updated_at: new Date(),
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function setUserStatus(
  db: Kysely<Database>,
  id: string,
  status: UserStatus,
  extra: { disabled_reason?: string | null } = {},
): Promise<User | undefined> {
  if (!isUuid(id)) return undefined;
  return db
    .updateTable('users')
    .set({ status, updated_at: new Date(), ...extra })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Moves a pending user to active; an active one is left as it is. */
export async function activatePendingUser(db: Kysely<Database>, id: string): Promise<User | undefined> {
  if (!isUuid(id)) return undefined;
  await db
    .updateTable('users')
    .set({ status: 'active', updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .execute();
  return findUserById(db, id);
}

export async function markEmailVerified(db: Kysely<Database>, id: string, at: Date): Promise<void> {
  await db
    .updateTable('users')
    .set({ email_verified_at: at, updated_at: at })
    .where('id', '=', id)
    .where('email_verified_at', 'is', null)
    .execute();
}

export async function setMfaEnabled(db: Kysely<Database>, id: string, enabled: boolean): Promise<void> {
  await db
    .updateTable('users')
    .set({ mfa_enabled: enabled, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

export async function updatePasswordHash(db: Kysely<Database>, id: string, hash: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ password_hash: hash, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}
