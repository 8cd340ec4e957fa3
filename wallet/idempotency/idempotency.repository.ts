import { sql } from 'kysely';
import type { Db } from '../database.js';
import type { IdempotencyKeyRow } from './idempotency.table.js';

/**
 * Claims (scope, key) for this transaction. If another transaction holds an uncommitted claim,
 * PostgreSQL makes this insert wait for it to finish — that wait is what turns concurrent
 * duplicates into one execution. Returns false when the key was already used.
 */
export async function claimIdempotencyKey(
  db: Db,
  scope: string,
  key: string,
  fingerprint: string,
): Promise<boolean> {
  const row = await db
    .insertInto('idempotency_keys')
    .values({ scope, key, fingerprint, status_code: null, response: null })
    .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findIdempotencyKey(
  db: Db,
  scope: string,
  key: string,
): Promise<IdempotencyKeyRow | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('scope', '=', scope)
    .where('key', '=', key)
    .executeTakeFirst();
}

export async function storeIdempotentResponse(
  db: Db,
  scope: string,
  key: string,
  status: number,
  body: unknown,
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ status_code: status, response: JSON.stringify(body) })
    .where('scope', '=', scope)
    .where('key', '=', key)
    .execute();
}

/** The purge's statement (exported so a test can EXPLAIN it): reads index `idempotency_keys_created_at`. */
export function idempotencyKeyPurge(before: Date, limit: number) {
  return sql`
    delete from idempotency_keys where ctid in (
      select ctid from idempotency_keys where created_at < ${before} limit ${limit}
    )`;
}

/** Deletes up to `limit` keys created before `before`; returns how many. */
export async function deleteIdempotencyKeysBefore(db: Db, before: Date, limit: number): Promise<number> {
  const result = await idempotencyKeyPurge(before, limit).execute(db);
  return Number(result.numAffectedRows ?? 0n);
}
