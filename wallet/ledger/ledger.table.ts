import type { ColumnType, Selectable } from 'kysely';

export type JournalKind = 'deposit' | 'withdrawal' | 'transfer' | 'reversal';

/**
 * One balanced money movement. Its place in the hash chain (sequence number, hashes) is written
 * later by the sealer into `journal_seals`, so an insert never waits for the chain.
 */
export interface JournalTransactionsTable {
  id: string;
  kind: JournalKind;
  currency: string;
  reference: string | null;
  transfer_id: string | null;
  hold_id: string | null;
  reverses_id: string | null;
  created_at: Date;
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

/** A journal transaction's link in the hash chain (append-only; `seq` is gap-free from 1). */
export interface JournalSealsTable {
  seq: bigint;
  transaction_id: string;
  prev_hash: string;
  hash: string;
  sealed_at: ColumnType<Date, Date | undefined, never>;
  /** How `hash` was computed (journal-hash.ts); 1 for every seal written before migration 0044. */
  hash_version: ColumnType<number, number | undefined, never>;
}

/** The sealer's queue: committed journal transactions not sealed yet. */
export interface JournalUnsealedTable {
  transaction_id: string;
  created_at: Date;
}

/** The deposit that credited a wallet for a bank reference: at most one per (wallet, reference). */
export interface DepositReferencesTable {
  wallet_id: string;
  reference: string;
  transaction_id: string;
  amount: bigint;
  currency: string;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export type JournalTransactionRow = Selectable<JournalTransactionsTable>;
export type PostingRow = Selectable<PostingsTable>;
export type JournalSealRow = Selectable<JournalSealsTable>;
export type DepositReferenceRow = Selectable<DepositReferencesTable>;
