import { createHash } from 'node:crypto';

/** The hash that precedes the first journal transaction. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * How a seal's hash was computed (`journal_seals.hash_version`). Version 1 covers a posting's
 * position, id, wallet and amount; version 2 (migration 0044 on) also its currency, its balance
 * after and its time, so every column that states money is covered. The sealer writes the
 * current version; a seal keeps verifying with the version it was written with.
 */
export type HashVersion = 1 | 2;
export const CURRENT_HASH_VERSION: HashVersion = 2;

export function isHashVersion(version: number): version is HashVersion {
  return version === 1 || version === 2;
}

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
  currency: string;
  balance_after: bigint;
  created_at: Date;
}

/**
 * SHA-256 over a canonical serialization of a journal transaction and its postings (ordered by
 * position), including the previous transaction's hash: changing, removing or reordering any
 * committed transaction changes every hash after it. The version is part of what is hashed, so
 * a seal's version cannot be changed without changing its hash.
 */
export function journalHash(
  tx: HashableTransaction,
  postings: readonly HashablePosting[],
  version: HashVersion = CURRENT_HASH_VERSION,
): string {
  const legs = [...postings]
    .sort((a, b) => a.position - b.position)
    .map((p) => {
      const leg: (string | number)[] = [p.position, p.id, p.wallet_id, p.amount.toString()];
      if (version >= 2) leg.push(p.currency.trim(), p.balance_after.toString(), p.created_at.toISOString());
      return leg;
    });
  const canonical = JSON.stringify([
    `velora-journal-v${version}`,
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
