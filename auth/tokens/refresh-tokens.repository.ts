import type { Insertable, Kysely } from 'kysely';
import type { Database } from '../database.js';
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

export async function revokeAllForUser(
  db: Kysely<Database>,
  userId: string,
  reason: string,
  now: Date,
): Promise<number> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
