import { sql } from 'kysely';
import type { Db } from '../database.js';
import type { HashablePosting } from './journal-hash.js';
import type { DepositReferenceRow, JournalKind, PostingRow } from './ledger.table.js';

/** A leg as `velora_post_journal` takes it. */
export interface JournalLeg {
  wallet_id: string;
  amount: string;
  pending_delta?: string;
}

/**
 * Appends a balanced journal transaction in one round trip (`velora_post_journal`, migration
 * 0002): balances, postings, the sealer's queue and the history outbox rows. Returns its id.
 */
export async function postJournalTransaction(
  db: Db,
  tx: {
    kind: JournalKind;
    currency: string;
    reference: string | null;
    transferId: string | null;
    holdId: string | null;
    reversesId: string | null;
    legs: readonly JournalLeg[];
  },
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    select velora_post_journal(${tx.kind}, ${tx.currency}, ${tx.reference}, ${tx.transferId},
      ${tx.holdId}::uuid, ${tx.reversesId}::uuid, ${JSON.stringify(tx.legs)}::jsonb) as id`.execute(db);
  return rows[0]!.id;
}

export async function findJournalTransaction(db: Db, id: string, options: { lock?: boolean } = {}) {
  let q = db.selectFrom('journal_transactions').selectAll().where('id', '=', id);
  // Locking the original serializes concurrent reversals of it (the row itself is never updated).
  if (options.lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function findReversalOf(db: Db, id: string) {
  return db.selectFrom('journal_transactions').select('id').where('reverses_id', '=', id).executeTakeFirst();
}

export async function listPostingsOf(db: Db, transactionId: string): Promise<PostingRow[]> {
  return db
    .selectFrom('postings')
    .selectAll()
    .where('transaction_id', '=', transactionId)
    .orderBy('position')
    .execute();
}

/** The postings each of these journal transactions' hash covers, by transaction id (sealer, reconciliation). */
export async function hashedPostingsOf(
  db: Db,
  transactionIds: readonly string[],
): Promise<Map<string, HashablePosting[]>> {
  const byTx = new Map<string, HashablePosting[]>();
  if (transactionIds.length === 0) return byTx;
  const rows = await db
    .selectFrom('postings')
    .select([
      'id',
      'position',
      'wallet_id',
      'amount',
      'currency',
      'balance_after',
      'created_at',
      'transaction_id',
    ])
    .where('transaction_id', 'in', [...transactionIds])
    .execute();
  for (const { transaction_id, ...leg } of rows) {
    const legs = byTx.get(transaction_id);
    if (legs) legs.push(leg);
    else byTx.set(transaction_id, [leg]);
  }
  return byTx;
}

/** The deposit already made for (wallet, reference), if any. */
export async function findDepositReference(
  db: Db,
  walletId: string,
  reference: string,
): Promise<DepositReferenceRow | undefined> {
  return db
    .selectFrom('deposit_references')
    .selectAll()
    .where('wallet_id', '=', walletId)
    .where('reference', '=', reference)
    .executeTakeFirst();
}

export async function insertDepositReference(
  db: Db,
  row: { wallet_id: string; reference: string; transaction_id: string; amount: bigint; currency: string },
): Promise<void> {
  await db.insertInto('deposit_references').values(row).execute();
}
