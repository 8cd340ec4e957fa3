import type { ColumnType, Selectable } from 'kysely';

export type ReversalStatus = 'held' | 'completed' | 'released';

/**
 * A transfer's reversal (one per transfer): `from_wallet_id` is the wallet the money goes back
 * FROM (the transfer's destination), `to_wallet_id` the one it returns to (the transfer's source).
 */
export interface TransferReversalsTable {
  transfer_id: string;
  original_transaction_id: string;
  from_wallet_id: string;
  to_wallet_id: string;
  currency: string;
  transfer_amount: bigint;
  /** What is moved back: the transfer's amount, or less for a partial reversal. */
  amount: bigint;
  hold_id: string;
  status: ReversalStatus;
  transaction_id: string | null;
  reason: string;
  requested_by: string;
  created_at: ColumnType<Date, Date | undefined, never>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type TransferReversalRow = Selectable<TransferReversalsTable>;
