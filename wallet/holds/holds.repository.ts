import { sql } from 'kysely';
import type { Db } from '../database.js';
import type { HoldRow, HoldStatus } from './holds.table.js';

export async function lockHold(db: Db, id: string): Promise<HoldRow | undefined> {
  return db.selectFrom('holds').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Ends an active hold without moving money (captures are `velora_capture_hold`, migration 0002). */
export async function finishHold(
  db: Db,
  id: string,
  status: Extract<HoldStatus, 'released' | 'expired'>,
): Promise<HoldRow> {
  return db
    .updateTable('holds')
    .set({ status, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('status', '=', 'active')
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Locks up to `limit` active holds past their expiry; holds another sweep holds are skipped. */
export async function lockExpiredHolds(db: Db, now: Date, limit: number): Promise<HoldRow[]> {
  return db
    .selectFrom('holds')
    .selectAll()
    .where('status', '=', 'active')
    .where('expires_at', '<=', now)
    .orderBy('id')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}
