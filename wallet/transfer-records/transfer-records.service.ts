import type { Db } from '../database.js';
import {
  findTransferRecord,
  listTransferRecords,
  readArchiveCheckpoint,
  upsertTransferRecords,
  writeArchiveCheckpoint,
  type NewTransferRecord,
  type RecordPosition,
} from './transfer-records.repository.js';
import type { ArchiveCheckpoint, TransferRecordInput } from './transfer-records.routes.js';
import type { TransferArchiveCheckpointRow, TransferRecordRow } from './transfer-records.table.js';
import type { TransferRecordList } from '../wallet-api.js';

/** One page of the archive sweep: its records, the checkpoint it expects and the one it leaves. */
export interface ArchivePage {
  records: TransferRecordInput[];
  checkpoint: { expected: ArchiveCheckpoint; next: ArchiveCheckpoint };
}

/** A page written, or refused because another sweep moved the checkpoint first. */
export type ArchivePageOutcome =
  | { moved: true; current: ArchiveCheckpoint }
  | { moved: false; upserted: number; checkpoint: ArchiveCheckpoint };

/**
 * The durable record of closed transfers (docs/orchestrator.md, "Transfer archive"). Each method
 * takes the database or the caller's transaction first, so a page and its idempotency record
 * commit together.
 */
export interface TransferRecordService {
  /** Where the archive sweep stands. */
  checkpoint(db: Db): Promise<ArchiveCheckpoint>;
  /** Upserts a page and moves the checkpoint from `expected` to `next`, unless it moved meanwhile. */
  writePage(trx: Db, page: ArchivePage): Promise<ArchivePageOutcome>;
  /** A user's records, newest first, with how far the archive reaches. */
  list(
    db: Db,
    query: { initiatedBy: string; status?: string; before?: RecordPosition; limit: number },
  ): Promise<TransferRecordList>;
  /** One record by transfer id. */
  find(db: Db, transferId: string): Promise<TransferRecordInput | undefined>;
}

export function createTransferRecordService(): TransferRecordService {
  return {
    async checkpoint(db) {
      return toCheckpointView(await readArchiveCheckpoint(db));
    },
    async writePage(trx, page) {
      const { expected, next } = page.checkpoint;
      const current = toCheckpointView(await readArchiveCheckpoint(trx, { lock: true }));
      if (!sameCheckpoint(current, expected)) return { moved: true, current };
      const upserted = await upsertTransferRecords(trx, page.records.map(toRow));
      const written = await writeArchiveCheckpoint(trx, {
        closed_through: new Date(next.closed_through),
        window_until: next.window_until === null ? null : new Date(next.window_until),
        page_token: next.page_token,
      });
      return { moved: false, upserted, checkpoint: toCheckpointView(written) };
    },
    async list(db, query) {
      // The checkpoint first: every run closed up to it is in the rows read after it, so the
      // caller may take any run closed later from Temporal's visibility without a gap.
      const checkpoint = await readArchiveCheckpoint(db);
      const rows = await listTransferRecords(db, query);
      return { items: rows.map(toRecordView), archived_through: checkpoint.closed_through.toISOString() };
    },
    async find(db, transferId) {
      const row = await findTransferRecord(db, transferId);
      return row && toRecordView(row);
    },
  };
}

/** A record as the internal API answers it: the public `Transfer` plus whose it is and its run. */
export function toRecordView(row: TransferRecordRow): TransferRecordInput {
  return {
    id: row.transfer_id,
    run_id: row.run_id,
    initiated_by: row.initiated_by,
    status: row.status as TransferRecordInput['status'],
    from_wallet_id: row.from_wallet_id,
    to_wallet_id: row.to_wallet_id,
    amount: row.amount.toString(),
    currency: row.currency,
    description: row.description,
    steps: row.steps as TransferRecordInput['steps'],
    ...(row.failure_code === null ? {} : { failure_code: row.failure_code }),
    created_at: row.created_at.toISOString(),
    ...(row.completed_at === null ? {} : { completed_at: row.completed_at.toISOString() }),
    closed_at: row.closed_at.toISOString(),
  };
}

export function toCheckpointView(row: TransferArchiveCheckpointRow): ArchiveCheckpoint {
  return {
    closed_through: row.closed_through.toISOString(),
    window_until: row.window_until?.toISOString() ?? null,
    page_token: row.page_token,
  };
}

function toRow(r: TransferRecordInput): NewTransferRecord {
  return {
    transfer_id: r.id,
    run_id: r.run_id,
    initiated_by: r.initiated_by,
    status: r.status,
    from_wallet_id: r.from_wallet_id,
    to_wallet_id: r.to_wallet_id,
    amount: BigInt(r.amount),
    currency: r.currency,
    description: r.description,
    steps: JSON.stringify(r.steps),
    failure_code: r.failure_code ?? null,
    created_at: new Date(r.created_at),
    completed_at: r.completed_at === undefined ? null : new Date(r.completed_at),
    closed_at: new Date(r.closed_at),
  };
}

/** Same instant and position: checkpoints compare by value, whatever the ISO spelling. */
function sameCheckpoint(a: ArchiveCheckpoint, b: ArchiveCheckpoint): boolean {
  const ms = (v: string | null) => (v === null ? null : Date.parse(v));
  return (
    ms(a.closed_through) === ms(b.closed_through) &&
    ms(a.window_until) === ms(b.window_until) &&
    a.page_token === b.page_token
  );
}
