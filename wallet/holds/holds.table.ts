import type { ColumnType, Generated, Selectable } from 'kysely';

/** `transfer`: placed by a transfer's reserve (one per transfer id); `hold`: POST /internal/holds. */
export type HoldKind = 'hold' | 'transfer';

export type HoldStatus = 'active' | 'captured' | 'released' | 'expired';

/** Money reserved on a wallet (counted in its `pending`) until captured, released or expired. */
export interface HoldsTable {
  id: string;
  wallet_id: string;
  currency: string;
  amount: bigint;
  captured_amount: ColumnType<bigint, bigint | undefined, bigint>;
  status: HoldStatus;
  transfer_id: string;
  expires_at: Date;
  capture_transaction_id: string | null;
  kind: ColumnType<HoldKind, HoldKind | undefined, never>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type HoldRow = Selectable<HoldsTable>;
