/**
 * How every workflow's invariants read WalletService's own tables (its database, read-only): in
 * one repeatable-read snapshot, because a terminated run's activity may still be writing while
 * they read, and statements read apart could see a movement half done (the deposit fuzzer's
 * flake: the wallet read before a credit, its journal entry after); and with the few reads every
 * workflow's books are made of (wallet balances, holds, a wallet's postings).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../wallet/database.js';
import type { JournalKind } from '../wallet/ledger/ledger.table.js';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';

/** The wallet database as seen by one snapshot. */
export type LedgerSnapshot = Kysely<Database>;

/** Runs `read` in one repeatable-read transaction of the fuzzer's wallet database. */
export function readLedgerSnapshot<T>(
  wallet: WalletHarness,
  read: (db: LedgerSnapshot) => Promise<T>,
): Promise<T> {
  return wallet.db.transaction().setIsolationLevel('repeatable read').execute(read);
}

export interface WalletBalance {
  posted: bigint;
  pending: bigint;
  status: string;
}

/** The balances of the named wallets (`{ payer: id, payee: id }`), by the same names. */
export async function walletBalances<Name extends string>(
  db: LedgerSnapshot,
  ids: Record<Name, string>,
): Promise<Record<Name, WalletBalance>> {
  const named = Object.entries<string>(ids);
  const rows = await db
    .selectFrom('wallets')
    .select(['id', 'posted', 'pending', 'status'])
    .where(
      'id',
      'in',
      named.map(([, id]) => id),
    )
    .execute();
  const balances = named.map(([name, id]) => {
    const row = rows.find((w) => w.id === id);
    if (!row) throw new Error(`wallet ${id} missing`);
    return [name, { posted: BigInt(row.posted), pending: BigInt(row.pending), status: row.status }] as const;
  });
  return Object.fromEntries(balances) as Record<Name, WalletBalance>;
}

export interface HoldRow {
  id: string;
  transfer_id: string;
  status: string;
  amount: bigint;
  captured_amount: bigint;
  expires_at: Date;
  /** When the hold last changed: the start of the transaction that ended it (PostgreSQL's `now()`). */
  updated_at: Date;
}

/** The holds placed under these transfer ids (a reversal's are `reversal:<transfer id>`). */
export async function holdsOf(db: LedgerSnapshot, transferIds: readonly string[]): Promise<HoldRow[]> {
  if (transferIds.length === 0) return [];
  const rows = await db
    .selectFrom('holds')
    .select(['id', 'transfer_id', 'status', 'amount', 'captured_amount', 'expires_at', 'updated_at'])
    .where('transfer_id', 'in', transferIds)
    .execute();
  return rows.map((h) => ({ ...h, amount: BigInt(h.amount), captured_amount: BigInt(h.captured_amount) }));
}

/** One wallet's leg of a journal transaction (negative when money left the wallet). */
export interface WalletPosting {
  transaction_id: string;
  transfer_id: string | null;
  reference: string | null;
  amount: bigint;
}

/**
 * The wallet's postings in journal transactions of `kind`, under these transfer ids or under
 * this reference (a deposit's).
 */
export async function walletPostings(
  db: LedgerSnapshot,
  walletId: string,
  kind: JournalKind,
  under: { transferIds: readonly string[] } | { reference: string },
): Promise<WalletPosting[]> {
  if ('transferIds' in under && under.transferIds.length === 0) return [];
  const query = db
    .selectFrom('journal_transactions as t')
    .innerJoin('postings as p', 'p.transaction_id', 't.id')
    .select(['t.id', 't.transfer_id', 't.reference', 'p.amount'])
    .where('t.kind', '=', kind)
    .where('p.wallet_id', '=', walletId);
  const rows = await (
    'transferIds' in under
      ? query.where('t.transfer_id', 'in', under.transferIds)
      : query.where('t.reference', '=', under.reference)
  ).execute();
  return rows.map((r) => ({
    transaction_id: r.id,
    transfer_id: r.transfer_id,
    reference: r.reference,
    amount: BigInt(r.amount),
  }));
}
