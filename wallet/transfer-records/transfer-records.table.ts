import type { ColumnType, Generated, Selectable } from 'kysely';

/** One saga step as a record keeps it: what the public view shows, never the raw reason. */
export interface TransferRecordStep {
  name: string;
  status: string;
  attempts: number;
  error_code?: string;
}

/**
 * The final public view of a closed transfer (migration 0036), written by the orchestrator's
 * archive sweep; `initiated_by` is whose transfer it is.
 */
export interface TransferRecordsTable {
  transfer_id: string;
  run_id: string;
  initiated_by: string;
  status: string;
  from_wallet_id: string;
  to_wallet_id: string;
  amount: bigint;
  currency: string;
  description: string;
  /**
   * `TransferRecordStep[]` as jsonb (read as `object`: Kysely's array helpers would otherwise
   * take this column for a PostgreSQL array).
   */
  steps: ColumnType<object, string, string>;
  failure_code: string | null;
  created_at: Date;
  completed_at: Date | null;
  closed_at: Date;
  archived_at: Generated<Date>;
}

/** How far the archive sweep got (one row). */
export interface TransferArchiveCheckpointTable {
  id: ColumnType<boolean, never, never>;
  closed_through: Date;
  window_until: Date | null;
  page_token: string | null;
  updated_at: Generated<Date>;
}

export type TransferRecordRow = Selectable<TransferRecordsTable>;
export type TransferArchiveCheckpointRow = Selectable<TransferArchiveCheckpointTable>;
