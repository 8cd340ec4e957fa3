import type { ColumnType, Insertable, Selectable } from 'kysely';

export type JournalKind = 'deposit' | 'withdrawal' | 'transfer' | 'reversal';

/** One balanced money movement; `hash` chains it to the previous one (`prev_hash`). */
export interface JournalTransactionsTable {
  id: string;
  seq: bigint;
  kind: JournalKind;
  currency: string;
  reference: string | null;
  transfer_id: string | null;
  hold_id: string | null;
  reverses_id: string | null;
  created_at: Date;
  prev_hash: string;
  hash: string;
}

/** One leg of a journal transaction: positive credits the wallet, negative debits it. */
export interface PostingsTable {
  id: string;
  seq: ColumnType<bigint, never, never>;
  transaction_id: string;
  position: number;
  wallet_id: string;
  currency: string;
  amount: bigint;
  balance_after: bigint;
  created_at: Date;
}

/** The single row that serializes appends to the hash chain. */
export interface ChainHeadTable {
  id: number;
  seq: bigint;
  last_hash: string;
}

export type JournalTransactionRow = Selectable<JournalTransactionsTable>;
export type PostingRow = Selectable<PostingsTable>;
export type NewPostingRow = Insertable<PostingsTable>;
