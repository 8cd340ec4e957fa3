import { sql, type Kysely } from 'kysely';
import type { Db as MongoDb } from 'mongodb';
import type { Database, Db } from '../database.js';
import { HISTORY, type HistoryDocument } from '../history/history.collections.js';
import { GENESIS_HASH, journalHash } from '../ledger/journal-hash.js';
import { hashedPostingsOf } from '../ledger/ledger.repository.js';
import { isUuid } from '../request-input.js';

/** One precise finding; `check` says which promise is broken. */
export type Discrepancy =
  | { check: 'transaction_unbalanced'; transaction_id: string; sum: string; postings: number }
  | { check: 'currency_unbalanced'; currency: string; source: 'postings' | 'wallets'; sum: string }
  | { check: 'posting_currency'; posting_id: string; posting: string; transaction: string; wallet: string }
  | { check: 'wallet_posted'; wallet_id: string; stored: string; from_postings: string }
  | { check: 'wallet_pending'; wallet_id: string; stored: string; from_holds: string }
  | { check: 'wallet_negative'; wallet_id: string; available: string; overdraft_limit: string }
  | { check: 'mongo_missing'; posting_id: string; transaction_id: string; wallet_id: string }
  | { check: 'mongo_unexpected'; document_id: string }
  | { check: 'mongo_mismatch'; posting_id: string; field: string; expected: string; found: string }
  | { check: 'outbox_missing'; posting_id: string; transaction_id: string }
  | { check: 'hash_chain'; seq: string; transaction_id: string; problem: string }
  | { check: 'journal_unsealed'; transaction_id: string; created_at: string };

export interface ReconciliationReport {
  ok: boolean;
  discrepancies: Discrepancy[];
  checked: {
    transactions: number;
    postings: number;
    wallets: number;
    mongo_documents: number;
    pending_relay: number;
    /** Journal transactions not sealed yet (normally the last few hundred ms of traffic). */
    unsealed: number;
  };
}

export interface ReconciliationService {
  run(): Promise<ReconciliationReport>;
}

/**
 * Verifies the books at one consistent PostgreSQL snapshot (REPEATABLE READ): (a) postings sum
 * to zero per transaction and per currency, (b) stored balances equal postings and open holds,
 * (c) every user-wallet posting is in MongoDB once with the same content, (d) the hash chain of
 * the sealed transactions is intact and nothing stays unsealed for long. Safe to run while traffic flows: no locks beyond the snapshot.
 */
export function createReconciliationService(deps: {
  db: Kysely<Database>;
  mongo: MongoDb;
  /** A journal transaction unsealed for longer than this is a discrepancy (default 60 s). */
  unsealedAfterSeconds?: number;
}): ReconciliationService {
  return {
    async run() {
      const discrepancies: Discrepancy[] = [];
      const snapshot = await deps.db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          await sql`set transaction read only`.execute(trx);
          const balances = await checkBalances(trx, discrepancies);
          const chain = await checkChain(trx, discrepancies, deps.unsealedAfterSeconds ?? 60);
          const mongo = await checkMongoHasPostings(trx, deps.mongo, discrepancies);
          return { ...balances, ...chain, pending_relay: mongo.pending };
        });
      const documents = await checkMongoHasNothingElse(deps.db, deps.mongo, discrepancies);
      const checked = { ...snapshot, mongo_documents: documents };
      return { ok: discrepancies.length === 0, discrepancies, checked };
    },
  };
}

async function checkBalances(trx: Db, out: Discrepancy[]) {
  const unbalanced = await sql<{ transaction_id: string; total: string; n: string }>`
    select t.id as transaction_id, coalesce(sum(p.amount), 0)::text as total, count(p.id)::text as n
    from journal_transactions t left join postings p on p.transaction_id = t.id
    group by t.id having coalesce(sum(p.amount), 0) <> 0 or count(p.id) < 2`.execute(trx);
  for (const r of unbalanced.rows) {
    out.push({
      check: 'transaction_unbalanced',
      transaction_id: r.transaction_id,
      sum: r.total,
      postings: Number(r.n),
    });
  }
  const byCurrency = await sql<{ currency: string; source: 'postings' | 'wallets'; total: string }>`
    select currency, 'postings' as source, sum(amount)::text as total from postings group by currency having sum(amount) <> 0
    union all
    select currency, 'wallets', sum(posted)::text from wallets group by currency having sum(posted) <> 0`.execute(
    trx,
  );
  for (const r of byCurrency.rows)
    out.push({ check: 'currency_unbalanced', currency: r.currency, source: r.source, sum: r.total });
  // A posting in another currency than its transaction or its wallet would make the per-currency
  // sums above meaningless.
  const mixed = await sql<{ id: string; posting: string; transaction: string; wallet: string }>`
    select p.id, p.currency as posting, t.currency as transaction, w.currency as wallet
    from postings p join journal_transactions t on t.id = p.transaction_id join wallets w on w.id = p.wallet_id
    where p.currency <> t.currency or p.currency <> w.currency`.execute(trx);
  for (const r of mixed.rows) {
    out.push({
      check: 'posting_currency',
      posting_id: r.id,
      posting: r.posting,
      transaction: r.transaction,
      wallet: r.wallet,
    });
  }

  const wallets = await sql<{
    id: string;
    kind: string;
    posted: string;
    pending: string;
    overdraft_limit: string;
    from_postings: string;
    from_holds: string;
  }>`
    select w.id, w.kind, w.posted::text, w.pending::text, w.overdraft_limit::text,
      coalesce(p.total, 0)::text as from_postings, coalesce(h.total, 0)::text as from_holds
    from wallets w
    left join (select wallet_id, sum(amount) as total from postings group by wallet_id) p on p.wallet_id = w.id
    left join (select wallet_id, sum(amount) as total from holds where status = 'active' group by wallet_id) h on h.wallet_id = w.id`.execute(
    trx,
  );
  for (const w of wallets.rows) {
    if (w.posted !== w.from_postings)
      out.push({ check: 'wallet_posted', wallet_id: w.id, stored: w.posted, from_postings: w.from_postings });
    if (w.pending !== w.from_holds)
      out.push({ check: 'wallet_pending', wallet_id: w.id, stored: w.pending, from_holds: w.from_holds });
    const available = BigInt(w.posted) - BigInt(w.pending);
    if (w.kind === 'user' && available + BigInt(w.overdraft_limit) < 0n) {
      out.push({
        check: 'wallet_negative',
        wallet_id: w.id,
        available: available.toString(),
        overdraft_limit: w.overdraft_limit,
      });
    }
  }
  const postings = await trx
    .selectFrom('postings')
    .select(sql<string>`count(*)::text`.as('n'))
    .executeTakeFirstOrThrow();
  return { wallets: wallets.rows.length, postings: Number(postings.n) };
}

/**
 * Walks the seals in sequence order, recomputing every hash from the sealed transaction's
 * content and postings, and names the journal transactions still unsealed after
 * `unsealedAfterSeconds` (the sealer runs every few hundred ms, so old ones mean it is stuck).
 * Returns how many transactions it walked.
 */
async function checkChain(trx: Db, out: Discrepancy[], unsealedAfterSeconds: number) {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1n;
  let after = 0n;
  let count = 0;
  for (;;) {
    const seals = await trx
      .selectFrom('journal_seals as s')
      .leftJoin('journal_transactions as t', 't.id', 's.transaction_id')
      .select([
        's.seq',
        's.transaction_id',
        's.prev_hash',
        's.hash',
        't.id',
        't.kind',
        't.currency',
        't.reference',
        't.transfer_id',
        't.hold_id',
        't.reverses_id',
        't.created_at',
      ])
      .where('s.seq', '>', after)
      .orderBy('s.seq')
      .limit(1000)
      .execute();
    if (seals.length === 0) break;
    const byTx = await hashedPostingsOf(
      trx,
      seals.map((s) => s.transaction_id),
    );
    for (const s of seals) {
      count++;
      const at = { seq: s.seq.toString(), transaction_id: s.transaction_id };
      if (s.seq !== expectedSeq)
        out.push({ check: 'hash_chain', ...at, problem: `expected sequence ${expectedSeq}` });
      if (s.prev_hash !== prevHash)
        out.push({
          check: 'hash_chain',
          ...at,
          problem: 'prev_hash does not match the previous transaction',
        });
      // A seal whose transaction is gone (a left join miss) cannot match any content.
      const content = s.id !== null && {
        seq: s.seq,
        prev_hash: s.prev_hash,
        id: s.id,
        kind: s.kind!,
        currency: s.currency!,
        reference: s.reference,
        transfer_id: s.transfer_id,
        hold_id: s.hold_id,
        reverses_id: s.reverses_id,
        created_at: s.created_at!,
      };
      if (!content || journalHash(content, byTx.get(s.transaction_id) ?? []) !== s.hash) {
        out.push({ check: 'hash_chain', ...at, problem: 'hash does not match the transaction content' });
      }
      prevHash = s.hash;
      expectedSeq = s.seq + 1n;
      after = s.seq;
    }
  }
  const unsealed = await sql<{ id: string; created_at: Date; overdue: boolean }>`
    select t.id, t.created_at, t.created_at < now() - make_interval(secs => ${unsealedAfterSeconds}) as overdue
    from journal_transactions t
    where not exists (select 1 from journal_seals s where s.transaction_id = t.id)
    order by t.created_at`.execute(trx);
  for (const t of unsealed.rows) {
    if (t.overdue)
      out.push({ check: 'journal_unsealed', transaction_id: t.id, created_at: t.created_at.toISOString() });
  }
  return { transactions: count, unsealed: unsealed.rows.length };
}

const BATCH = 2000;

/**
 * (c), first half, inside the snapshot: every user-wallet posting has its outbox row and, once
 * relayed, its MongoDB document with the same content. Walks postings by `seq` in batches so
 * memory stays flat however long the journal is.
 */
async function checkMongoHasPostings(trx: Db, mongo: MongoDb, out: Discrepancy[]) {
  let after = 0n;
  let pending = 0;
  for (;;) {
    const rows = await sql<{
      id: string;
      seq: bigint;
      transaction_id: string;
      wallet_id: string;
      amount: string;
      balance_after: string;
      relayed: boolean | null;
    }>`
      select p.id, p.seq, p.transaction_id, p.wallet_id, p.amount::text, p.balance_after::text,
        (o.relayed_at is not null) as relayed
      from postings p
      join wallets w on w.id = p.wallet_id and w.kind = 'user'
      left join outbox o on o.collection = 'transaction_history' and o.event_id = p.id::text
      where p.seq > ${after}
      order by p.seq
      limit ${BATCH}`.execute(trx);
    if (rows.rows.length === 0) break;
    after = rows.rows.at(-1)!.seq;
    const docs = await mongo
      .collection<HistoryDocument>(HISTORY)
      .find(
        { _id: { $in: rows.rows.map((r) => r.id) } },
        { projection: { _id: 1, wallet_id: 1, amount: 1, direction: 1, balance_after: 1 } },
      )
      .toArray();
    const byId = new Map(docs.map((d) => [d._id, d as unknown as Record<string, unknown>]));
    for (const p of rows.rows) {
      // No outbox row: purged after relay (the document is there) or never queued.
      if (p.relayed === null && !byId.has(p.id)) {
        out.push({ check: 'outbox_missing', posting_id: p.id, transaction_id: p.transaction_id });
        continue;
      }
      const doc = byId.get(p.id);
      if (!doc) {
        if (p.relayed) {
          out.push({
            check: 'mongo_missing',
            posting_id: p.id,
            transaction_id: p.transaction_id,
            wallet_id: p.wallet_id,
          });
        } else pending++;
        continue;
      }
      const amount = BigInt(p.amount);
      const want: Record<string, string> = {
        wallet_id: p.wallet_id,
        amount: (amount < 0n ? -amount : amount).toString(),
        direction: amount < 0n ? 'debit' : 'credit',
        balance_after: p.balance_after,
      };
      for (const [field, value] of Object.entries(want)) {
        const got = String(doc[field]);
        if (got !== value)
          out.push({ check: 'mongo_mismatch', posting_id: p.id, field, expected: value, found: got });
      }
    }
  }
  return { pending };
}

/**
 * (c), second half, after the snapshot: every MongoDB history document belongs to a user-wallet
 * posting. Read against the current data, so a posting committed after the snapshot (and already
 * relayed) is not mistaken for a stray document. `_id` is unique, so nothing is there twice.
 */
async function checkMongoHasNothingElse(db: Db, mongo: MongoDb, out: Discrepancy[]): Promise<number> {
  let seen = 0;
  let chunk: string[] = [];
  const flush = async () => {
    const ids = chunk.filter(isUuid);
    const known = ids.length
      ? await db
          .selectFrom('postings as p')
          .innerJoin('wallets as w', 'w.id', 'p.wallet_id')
          .select('p.id')
          .where('w.kind', '=', 'user')
          .where('p.id', 'in', ids)
          .execute()
      : [];
    const ok = new Set(known.map((r) => r.id));
    for (const id of chunk) if (!ok.has(id)) out.push({ check: 'mongo_unexpected', document_id: id });
    chunk = [];
  };
  const cursor = mongo
    .collection<{ _id: unknown }>(HISTORY)
    .find({}, { projection: { _id: 1 } })
    .batchSize(BATCH);
  for await (const doc of cursor) {
    seen++;
    chunk.push(String(doc._id));
    if (chunk.length >= BATCH) await flush();
  }
  await flush();
  return seen;
}
