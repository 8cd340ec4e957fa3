import { sql, type Insertable } from 'kysely';
import type { Db } from '../database.js';
import type {
  TransferArchiveCheckpointRow,
  TransferRecordRow,
  TransferRecordsTable,
} from './transfer-records.table.js';

export type NewTransferRecord = Insertable<TransferRecordsTable>;

/**
 * Inserts or replaces records by transfer id. A record is replaced only by one of a run that
 * closed at the same time or later (a reset's new run), so an old view never overwrites a newer.
 */
export async function upsertTransferRecords(db: Db, records: NewTransferRecord[]): Promise<number> {
  // One row per transfer id (PostgreSQL refuses to upsert a row twice in one statement): a page
  // may hold two runs of one id (a reset), the one that closed last is the record.
  const latest = new Map<string, NewTransferRecord>();
  for (const r of records) {
    const seen = latest.get(r.transfer_id);
    if (!seen || new Date(seen.closed_at).getTime() <= new Date(r.closed_at).getTime())
      latest.set(r.transfer_id, r);
  }
  if (latest.size === 0) return 0;
  const result = await db
    .insertInto('transfer_records')
    .values([...latest.values()])
    .onConflict((oc) =>
      oc
        .column('transfer_id')
        .doUpdateSet((eb) => ({
          run_id: eb.ref('excluded.run_id'),
          status: eb.ref('excluded.status'),
          steps: eb.ref('excluded.steps'),
          failure_code: eb.ref('excluded.failure_code'),
          completed_at: eb.ref('excluded.completed_at'),
          closed_at: eb.ref('excluded.closed_at'),
          archived_at: sql<Date>`now()`,
        }))
        .where('transfer_records.closed_at', '<=', (eb) => eb.ref('excluded.closed_at')),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}

export async function findTransferRecord(db: Db, transferId: string): Promise<TransferRecordRow | undefined> {
  return db
    .selectFrom('transfer_records')
    .selectAll()
    .where('transfer_id', '=', transferId)
    .executeTakeFirst();
}

/** A position in a user's list: records strictly older than it (newest first). */
export interface RecordPosition {
  created_at: Date;
  transfer_id: string;
}

/** A user's records newest first, after `before` when given (keyset on the index of 0036). */
export async function listTransferRecords(
  db: Db,
  query: { initiatedBy: string; status?: string; before?: RecordPosition; limit: number },
): Promise<TransferRecordRow[]> {
  let q = db
    .selectFrom('transfer_records')
    .selectAll()
    .where('initiated_by', '=', query.initiatedBy)
    .orderBy('created_at', 'desc')
    .orderBy('transfer_id', 'desc')
    .limit(query.limit);
  if (query.status) q = q.where('status', '=', query.status);
  const before = query.before;
  if (before) {
    q = q.where((eb) =>
      eb(eb.refTuple('created_at', 'transfer_id'), '<', eb.tuple(before.created_at, before.transfer_id)),
    );
  }
  return q.execute();
}

export async function readArchiveCheckpoint(
  db: Db,
  options: { lock?: boolean } = {},
): Promise<TransferArchiveCheckpointRow> {
  let q = db.selectFrom('transfer_archive_checkpoint').selectAll();
  if (options.lock) q = q.forUpdate();
  return q.executeTakeFirstOrThrow();
}

export async function writeArchiveCheckpoint(
  db: Db,
  next: Pick<TransferArchiveCheckpointRow, 'closed_through' | 'window_until' | 'page_token'>,
): Promise<TransferArchiveCheckpointRow> {
  return db
    .updateTable('transfer_archive_checkpoint')
    .set({ ...next, updated_at: sql<Date>`now()` })
    .returningAll()
    .executeTakeFirstOrThrow();
}
