import { createHash } from 'node:crypto';

/** The hash that precedes the first journal transaction. */
export const GENESIS_HASH = '0'.repeat(64);

export interface HashableTransaction {
  seq: bigint;
  id: string;
  kind: string;
  currency: string;
  reference: string | null;
  transfer_id: string | null;
  hold_id: string | null;
  reverses_id: string | null;
  created_at: Date;
  prev_hash: string;
}

export interface HashablePosting {
  id: string;
  position: number;
  wallet_id: string;
  amount: bigint;
}

/**
 * SHA-256 over a canonical serialization of a journal transaction and its postings (ordered by
 * position), including the previous transaction's hash: changing, removing or reordering any
 * committed transaction changes every hash after it.
 */
export function journalHash(tx: HashableTransaction, postings: readonly HashablePosting[]): string {
  const legs = [...postings]
    .sort((a, b) => a.position - b.position)
    .map((p) => [p.position, p.id, p.wallet_id, p.amount.toString()]);
  const canonical = JSON.stringify([
    'velora-journal-v1',
    tx.seq.toString(),
    tx.id,
    tx.kind,
    tx.currency.trim(),
    tx.reference,
    tx.transfer_id,
    tx.hold_id,
    tx.reverses_id,
    tx.created_at.toISOString(),
    tx.prev_hash,
    legs,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
