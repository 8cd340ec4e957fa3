import { sql } from 'kysely';
import type { Db } from '../database.js';
import type { JournalTransactionRow, NewPostingRow, PostingRow } from './ledger.table.js';

/** Locks the chain head: from here to commit this transaction is the only one appending. */
export async function lockChainHead(db: Db): Promise<{ seq: bigint; last_hash: string }> {
  return db
    .selectFrom('chain_head')
    .select(['seq', 'last_hash'])
    .where('id', '=', 1)
    .forUpdate()
    .executeTakeFirstOrThrow();
}

export async function advanceChainHead(db: Db, seq: bigint, hash: string): Promise<void> {
  await db.updateTable('chain_head').set({ seq, last_hash: hash }).where('id', '=', 1).execute();
}

export async function insertJournalTransaction(db: Db, row: JournalTransactionRow): Promise<void> {
  await db.insertInto('journal_transactions').values(row).execute();
}

export async function insertPostings(db: Db, rows: readonly NewPostingRow[]): Promise<PostingRow[]> {
  return db
    .insertInto('postings')
    .values([...rows])
    .returningAll()
    .execute();
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

/** Sum of a user's outgoing transfer postings in `currency` since `since` (minor units, positive). */
export async function outgoingTransferVolume(
  db: Db,
  userId: string,
  currency: string,
  since: Date,
): Promise<bigint> {
  const row = await db
    .selectFrom('postings as p')
    .innerJoin('journal_transactions as t', 't.id', 'p.transaction_id')
    .innerJoin('wallets as w', 'w.id', 'p.wallet_id')
    .select(sql<string>`coalesce(sum(-p.amount), 0)::text`.as('total'))
    .where('w.kind', '=', 'user')
    .where('w.user_id', '=', userId)
    .where('p.currency', '=', currency)
    .where('t.kind', '=', 'transfer')
    .where('p.amount', '<', 0n)
    .where('p.created_at', '>=', since)
    .executeTakeFirstOrThrow();
  return BigInt(row.total);
}
