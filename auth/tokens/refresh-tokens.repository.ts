import type { Insertable, Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { User } from '../users/users.table.js';
import type { RefreshTokenRow, RefreshTokensTable } from './refresh-tokens.table.js';

export async function insertRefreshToken(
  db: Kysely<Database>,
  row: Insertable<RefreshTokensTable>,
): Promise<void> {
  await db.insertInto('refresh_tokens').values(row).execute();
}

/**
 * Marks a live token used, in one statement: of two concurrent uses exactly one gets the row.
 * The client must be the one the token was issued to.
 */
export async function consumeRefreshToken(
  db: Kysely<Database>,
  tokenHash: string,
  clientId: string,
  now: Date,
): Promise<RefreshTokenRow | undefined> {
  return db
    .updateTable('refresh_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('client_id', '=', clientId)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
}

/**
 * The owner of a refresh token, with the user row share-locked until the caller's transaction
 * ends. A refresh takes this lock before it consumes the token, and a password change or reset
 * updates the user row before it revokes the families: so a refresh racing a revocation either
 * finishes first (and its successor token is revoked too) or runs after it (and finds its token
 * revoked) — never a successor row the revocation could not see.
 */
export async function lockRefreshTokenOwner(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<User | undefined> {
  return db
    .selectFrom('refresh_tokens')
    .innerJoin('users', 'users.id', 'refresh_tokens.user_id')
    .selectAll('users')
    .where('refresh_tokens.token_hash', '=', tokenHash)
    .forShare('users')
    .executeTakeFirst();
}

export async function findRefreshToken(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

export async function revokeFamily(
  db: Kysely<Database>,
  familyId: string,
  reason: string,
  now: Date,
): Promise<number> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Revokes a family only if it belongs to `userId` (a session ended by its owner). */
export async function revokeFamilyOfUser(
  db: Kysely<Database>,
  familyId: string,
  userId: string,
  reason: string,
  now: Date,
): Promise<number> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('family_id', '=', familyId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Revokes every family of `userId`, except `keepFamilyId` when given (the caller's own session). */
export async function revokeAllForUser(
  db: Kysely<Database>,
  userId: string,
  reason: string,
  now: Date,
  keepFamilyId?: string,
): Promise<number> {
  let query = db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (keepFamilyId !== undefined) query = query.where('family_id', '!=', keepFamilyId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}
