import type { Insertable, Kysely } from 'kysely';
import { PgCode, pgErrorCode } from '../../lib/db.js';
import type { Database } from '../database.js';
import type { SigningKeyRow, SigningKeysTable } from './keys.table.js';

/** Keys that are still published: the active one and retired ones not yet removed. */
export async function listPublishedKeys(db: Kysely<Database>): Promise<SigningKeyRow[]> {
  return db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute();
}

export async function findActiveKey(db: Kysely<Database>): Promise<SigningKeyRow | undefined> {
  return db.selectFrom('signing_keys').selectAll().where('status', '=', 'active').executeTakeFirst();
}

/** Inserts the first active key unless another instance got there first (partial unique index). */
export async function insertActiveKeyIfNone(
  db: Kysely<Database>,
  row: Insertable<SigningKeysTable>,
): Promise<boolean> {
  try {
    await db.insertInto('signing_keys').values(row).execute();
    return true;
  } catch (err) {
    if (pgErrorCode(err) === PgCode.uniqueViolation) return false;
    throw err;
  }
}

/**
 * Publishes `row` as the next key. A next key that has not taken over yet is replaced: it never
 * signed anything, so dropping it is safe.
 */
export async function insertNextKey(db: Kysely<Database>, row: Insertable<SigningKeysTable>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('signing_keys').where('status', '=', 'next').execute();
    await trx
      .insertInto('signing_keys')
      .values({ ...row, status: 'next' })
      .execute();
  });
}

/**
 * Makes a due `next` key the active one and retires the previous active key, atomically. Any
 * instance may run it; the row lock makes exactly one of them do the work.
 */
export async function promoteDueNextKey(
  db: Kysely<Database>,
  now: Date,
): Promise<{ kid: string; retiredKid: string | undefined } | undefined> {
  return db.transaction().execute(async (trx) => {
    const next = await trx
      .selectFrom('signing_keys')
      .select('kid')
      .where('status', '=', 'next')
      .where('activate_after', '<=', now)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (!next) return undefined;
    const retired = await trx
      .updateTable('signing_keys')
      .set({ status: 'retired', retired_at: now })
      .where('status', '=', 'active')
      .returning('kid')
      .executeTakeFirst();
    await trx
      .updateTable('signing_keys')
      .set({ status: 'active', activate_after: null })
      .where('kid', '=', next.kid)
      .execute();
    return { kid: next.kid, retiredKid: retired?.kid };
  });
}

/** Deletes retired keys retired before `cutoff`: no unexpired token can carry their kid. */
export async function deleteKeysRetiredBefore(db: Kysely<Database>, cutoff: Date): Promise<string[]> {
  const rows = await db
    .deleteFrom('signing_keys')
    .where('status', '=', 'retired')
    .where('retired_at', '<', cutoff)
    .returning('kid')
    .execute();
  return rows.map((r) => r.kid);
}
