import { sql, type Kysely } from 'kysely';
import type { Db as MongoDb } from 'mongodb';
import type { Database, Db } from '../database.js';
import { HISTORY, type HistoryDocument } from '../history/history.collections.js';
import { compareAnchors, writeAnchor, type ChainHead } from '../ledger/journal-anchors.js';
import { GENESIS_HASH, isHashVersion, journalHash, type HashablePosting } from '../ledger/journal-hash.js';
import { hashedPostingsOf } from '../ledger/ledger.repository.js';
import { isUuid } from '../../lib/uuid.js';

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
  | {
      check: 'anchor_mismatch';
      seq: string;
      anchored_hash: string;
      found_hash: string | null;
      anchored_at: string;
    }
  | { check: 'journal_unsealed'; transaction_id: string; created_at: string };

/**
 * `full` reads the whole journal, every wallet and every MongoDB document; `incremental` only
 * what changed since the last stored checkpoint (docs/wallet.md, "Reconciliation").
 */
export type ReconciliationMode = 'full' | 'incremental';

export interface ReconciliationRunOptions {
  /** Default `full`. An incremental run with no checkpoint stored yet runs in full. */
  mode?: ReconciliationMode;
  /** Store a checkpoint when the run is clean (the operator command does; the GET route does not). */
  storeCheckpoint?: boolean;
  /** Incremental: verify at most this many sealed transactions in one run (default 1,000,000). */
  maxTransactions?: number;
}

export interface ReconciliationReport {
  ok: boolean;
  mode: ReconciliationMode;
  discrepancies: Discrepancy[];
  checked: {
    transactions: number;
    postings: number;
    wallets: number;
    mongo_documents: number;
    pending_relay: number;
    /** Journal transactions not sealed yet (normally the last few hundred ms of traffic). */
    unsealed: number;
    /** Chain heads anchored in MongoDB that were compared with the seals. */
    anchors: number;
  };
  /** Seals verified by this run: after `from_seq` up to `to_seq`; `complete` when that is the head. */
  range: { from_seq: string; to_seq: string; complete: boolean };
  /**
   * The checkpoint this run stored, or null (not asked, not clean, or another run was first);
   * its seal is anchored in MongoDB too.
   */
  checkpoint: { id: string; seal_seq: string } | null;
}

export interface ReconciliationService {
  run(options?: ReconciliationRunOptions): Promise<ReconciliationReport>;
}

/** Any constant unique to this database: one reconciliation that stores checkpoints at a time. */
const RECONCILIATION_LOCK = 0x2ec0_0001;
const BATCH = 2000;
const SEAL_BATCH = 1000;

/**
 * Verifies the books at one consistent PostgreSQL snapshot (REPEATABLE READ): (a) postings sum
 * to zero per transaction and per currency, (b) stored balances equal postings and open holds,
 * (c) every user-wallet posting is in MongoDB once with the same content, (d) the hash chain of
 * the sealed transactions is intact and nothing stays unsealed for long. Safe to run while
 * traffic flows: no locks beyond the snapshot (and an advisory lock between runs that store a
 * checkpoint, taken before the snapshot).
 */
export function createReconciliationService(deps: {
  db: Kysely<Database>;
  mongo: MongoDb;
  /** A journal transaction unsealed for longer than this is a discrepancy (default 60 s). */
  unsealedAfterSeconds?: number;
}): ReconciliationService {
  const unsealedAfterSeconds = deps.unsealedAfterSeconds ?? 60;

  async function inSnapshot(trx: Db, options: ReconciliationRunOptions): Promise<Outcome> {
    // A full run over millions of postings outlives the service's 15 s statement timeout.
    await sql`set local statement_timeout = '30min'`.execute(trx);
    if (!options.storeCheckpoint) await sql`set transaction read only`.execute(trx);
    const last = await latestCheckpoint(trx);
    if (options.mode === 'incremental' && last) {
      return incremental(trx, deps.mongo, last, options, unsealedAfterSeconds);
    }
    return full(trx, deps.mongo, last, options, unsealedAfterSeconds);
  }

  return {
    async run(options = {}) {
      const { report, stored } = options.storeCheckpoint
        ? await deps.db.connection().execute(async (conn) => {
            // Taken before the snapshot, so this run sees the checkpoint the previous one stored.
            await sql`select pg_advisory_lock(${RECONCILIATION_LOCK})`.execute(conn);
            try {
              return await conn
                .transaction()
                .setIsolationLevel('repeatable read')
                .execute((trx) => inSnapshot(trx, options));
            } finally {
              await sql`select pg_advisory_unlock(${RECONCILIATION_LOCK})`.execute(conn);
            }
          })
        : await deps.db
            .transaction()
            .setIsolationLevel('repeatable read')
            .execute((trx) => inSnapshot(trx, options));
      if (report.mode === 'full') {
        report.checked.mongo_documents = await checkMongoHasNothingElse(
          deps.db,
          deps.mongo,
          report.discrepancies,
        );
      }
      // Anchored after the snapshot was taken: compared with the seals as they are now (an anchor
      // beyond every seal means seals were removed).
      report.checked.anchors += await checkAnchors(
        deps.db,
        deps.mongo,
        { from: BigInt(report.range.to_seq) + 1n },
        report.discrepancies,
      );
      report.ok = report.discrepancies.length === 0;
      // The checkpoint's seal leaves PostgreSQL: a later rewrite of everything up to it, hashes
      // recomputed, no longer matches this anchor.
      if (stored && stored.seq > 0n) await writeAnchor(deps.mongo, stored, 'reconciliation');
      return report;
    },
  };
}

/** A run's report, and the seal its stored checkpoint verified (to anchor). */
interface Outcome {
  report: ReconciliationReport;
  stored?: ChainHead;
}

/**
 * Compares the MongoDB anchors in `range` with the seals `db` sees and reports every anchor
 * PostgreSQL contradicts: a seal whose hash changed since it was anchored, or one that is gone.
 * Returns how many anchors it compared.
 */
async function checkAnchors(
  db: Db,
  mongo: MongoDb,
  range: { from: bigint; to?: bigint },
  out: Discrepancy[],
): Promise<number> {
  const { checked, mismatches } = await compareAnchors(db, mongo, range);
  for (const m of mismatches) {
    out.push({
      check: 'anchor_mismatch',
      seq: m.seq.toString(),
      anchored_hash: m.anchored,
      found_hash: m.found,
      anchored_at: m.anchored_at.toISOString(),
    });
  }
  return checked;
}

interface Checkpoint {
  id: string;
  seal_seq: bigint;
  seal_hash: string;
  snapshot_xmin: string;
}

async function latestCheckpoint(trx: Db): Promise<Checkpoint | undefined> {
  const { rows } = await sql<Checkpoint>`
    select c.id::text, c.seal_seq, c.seal_hash, c.snapshot_xmin::text
    from reconciliation_checkpoints c order by c.id desc limit 1`.execute(trx);
  return rows[0];
}

/** Where the chain stands: the last seal verified (seq 0 and the genesis hash before any). */
interface ChainPosition {
  seq: bigint;
  hash: string;
}

const GENESIS: ChainPosition = { seq: 0n, hash: GENESIS_HASH };

async function full(
  trx: Db,
  mongo: MongoDb,
  last: Checkpoint | undefined,
  options: ReconciliationRunOptions,
  unsealedAfterSeconds: number,
): Promise<Outcome> {
  const out: Discrepancy[] = [];
  const balances = await checkBalances(trx, out);
  const chain = await walkChain(trx, GENESIS, out, Number.POSITIVE_INFINITY, hashedPostingsOf);
  const anchors = await checkAnchors(trx, mongo, { from: 1n, to: chain.head.seq }, out);
  const unsealed = await checkUnsealed(trx, out, unsealedAfterSeconds, 'all');
  const documents = await checkMongoHasPostings(trx, mongo, out);
  const report: ReconciliationReport = {
    ok: out.length === 0,
    mode: 'full',
    discrepancies: out,
    checked: {
      ...balances,
      transactions: chain.count,
      mongo_documents: 0,
      pending_relay: documents.pending.length,
      unsealed: unsealed.length,
      anchors,
    },
    range: { from_seq: '0', to_seq: chain.head.seq.toString(), complete: true },
    checkpoint: null,
  };
  if (!options.storeCheckpoint || !report.ok) return { report };

  // Verified up to the seal before the first one whose MongoDB documents are still on their way.
  const verified = await verifiedUpTo(trx, chain.head, documents.pending);
  const stored = await storeCheckpoint(trx, last, verified, 'full', {
    transactions: chain.count,
    postings: balances.postings,
    wallets: balances.wallets,
  });
  if (stored) {
    // Every wallet's stored balance equals its postings (the run is clean), so the sum of its
    // postings up to the checkpoint is that balance minus what was posted after it.
    await sql`delete from reconciliation_wallet_balances`.execute(trx);
    await sql`
      insert into reconciliation_wallet_balances (wallet_id, posted, checkpoint_id)
      select w.id, w.posted - coalesce(t.amount, 0), ${stored.id}::bigint
      from wallets w
      left join (
        select p.wallet_id, sum(p.amount) as amount from postings p
        where p.transaction_id in (
          select s.transaction_id from journal_seals s where s.seq > ${verified.seq}
          union all
          select t.id from unnest(${unsealed}::uuid[]) as t(id))
        group by p.wallet_id) t on t.wallet_id = w.id`.execute(trx);
  }
  report.checkpoint = stored;
  return { report, ...(stored && { stored: verified }) };
}

/**
 * Verifies only what changed since `last`: the seal `last` verified still has the same hash;
 * the chain from there on (links, hashes, every transaction balanced and in one currency, its
 * user postings in MongoDB); and the wallets touched since `last`'s snapshot (a row version
 * newer than it, postings since, open holds or a non-zero pending), whose balances must equal
 * the sum `reconciliation_wallet_balances` keeps plus what was posted since.
 */
async function incremental(
  trx: Db,
  mongo: MongoDb,
  last: Checkpoint,
  options: ReconciliationRunOptions,
  unsealedAfterSeconds: number,
): Promise<Outcome> {
  const out: Discrepancy[] = [];
  const from: ChainPosition = { seq: last.seal_seq, hash: last.seal_hash };
  if (from.seq > 0n) {
    const anchor = await trx
      .selectFrom('journal_seals')
      .select(['transaction_id', 'hash'])
      .where('seq', '=', from.seq)
      .executeTakeFirst();
    if (anchor?.hash !== from.hash) {
      out.push({
        check: 'hash_chain',
        seq: from.seq.toString(),
        transaction_id: anchor?.transaction_id ?? '',
        problem: 'seal differs from the one the last checkpoint verified',
      });
    }
  }

  // Per wallet, what the verified range posted: before the first transaction whose documents
  // are still on their way (it becomes the checkpoint) and from there on.
  const verifiedDelta = new Map<string, bigint>();
  const laterDelta = new Map<string, bigint>();
  let postings = 0;
  let documents = 0;
  let firstPending: bigint | undefined;
  const chain = await walkChain(
    trx,
    from,
    out,
    options.maxTransactions ?? 1_000_000,
    postingsToVerify,
    async (seals, legsByTx) => {
      const rows: LedgerPosting[] = [];
      for (const s of seals) {
        const legs = legsByTx.get(s.transaction_id) ?? [];
        checkTransaction(s, legs, out);
        for (const leg of legs) rows.push(leg);
      }
      postings += rows.length;
      const user = rows.filter((p) => p.wallet_kind === 'user');
      documents += user.length;
      const pending = await checkDocuments(mongo, user, out);
      const pendingTx = new Set(pending.map((p) => p.transaction_id));
      for (const s of seals) {
        if (firstPending === undefined && pendingTx.has(s.transaction_id)) firstPending = s.seq;
        const into = firstPending === undefined ? verifiedDelta : laterDelta;
        for (const leg of legsByTx.get(s.transaction_id) ?? []) {
          into.set(leg.wallet_id, (into.get(leg.wallet_id) ?? 0n) + leg.amount);
        }
      }
      return pending.length;
    },
  );
  const unsealed = await checkUnsealed(trx, out, unsealedAfterSeconds, 'queued');
  // From the checkpoint's own seal (anchored when it was stored) to the head.
  const anchors = await checkAnchors(
    trx,
    mongo,
    { from: from.seq > 0n ? from.seq : 1n, to: chain.head.seq },
    out,
  );
  const walletsChecked = chain.complete
    ? await checkTouchedWallets(trx, last.snapshot_xmin, sumMaps(verifiedDelta, laterDelta), out)
    : 0;
  const report: ReconciliationReport = {
    ok: out.length === 0,
    mode: 'incremental',
    discrepancies: out,
    checked: {
      transactions: chain.count,
      postings,
      wallets: walletsChecked,
      mongo_documents: documents,
      pending_relay: chain.pending,
      unsealed: unsealed.length,
      anchors,
    },
    range: { from_seq: from.seq.toString(), to_seq: chain.head.seq.toString(), complete: chain.complete },
    checkpoint: null,
  };
  if (!options.storeCheckpoint || !report.ok) return { report };

  const verified =
    firstPending === undefined
      ? chain.head
      : firstPending - 1n === from.seq
        ? from
        : await sealAt(trx, firstPending - 1n);
  const stored = await storeCheckpoint(
    trx,
    last,
    verified,
    'incremental',
    { transactions: chain.count, postings, wallets: walletsChecked },
    // Wallets were not compared when the run stopped before the head: keep the older snapshot.
    chain.complete ? undefined : last.snapshot_xmin,
  );
  if (stored) {
    const ids = [...verifiedDelta.keys()];
    for (let i = 0; i < ids.length; i += 10_000) {
      const chunk = ids.slice(i, i + 10_000);
      await sql`
        insert into reconciliation_wallet_balances (wallet_id, posted, checkpoint_id)
        select d.wallet_id, d.amount, ${stored.id}::bigint
        from unnest(${chunk}::uuid[], ${chunk.map((id) => verifiedDelta.get(id)!.toString())}::bigint[])
          as d(wallet_id, amount)
        on conflict (wallet_id) do update
          set posted = reconciliation_wallet_balances.posted + excluded.posted,
            checkpoint_id = excluded.checkpoint_id`.execute(trx);
    }
  }
  report.checkpoint = stored;
  return { report, ...(stored && { stored: verified }) };
}

function sumMaps(a: Map<string, bigint>, b: Map<string, bigint>): Map<string, bigint> {
  const sum = new Map(a);
  for (const [k, v] of b) sum.set(k, (sum.get(k) ?? 0n) + v);
  return sum;
}

async function sealAt(trx: Db, seq: bigint): Promise<ChainPosition> {
  const seal = await trx
    .selectFrom('journal_seals')
    .select(['seq', 'hash'])
    .where('seq', '=', seq)
    .executeTakeFirstOrThrow();
  return seal;
}

/** The last seal before the first one holding a posting whose MongoDB document is still pending. */
async function verifiedUpTo(trx: Db, head: ChainPosition, pending: PendingPosting[]): Promise<ChainPosition> {
  if (pending.length === 0) return head;
  const { rows } = await sql<{ seq: bigint | null }>`
    select min(seq) as seq from journal_seals
    where transaction_id = any(${[...new Set(pending.map((p) => p.transaction_id))]}::uuid[])`.execute(trx);
  const first = rows[0]?.seq;
  if (first === null || first === undefined) return head;
  return first === 1n ? GENESIS : sealAt(trx, first - 1n);
}

/**
 * Appends the checkpoint in the run's own transaction, so it commits with the balances that go
 * with it or not at all. Returns null when another run stored one from the same predecessor
 * first (the unique `previous_id`): this run's report stands, its checkpoint is dropped.
 */
async function storeCheckpoint(
  trx: Db,
  last: Checkpoint | undefined,
  at: ChainPosition,
  mode: ReconciliationMode,
  counts: { transactions: number; postings: number; wallets: number },
  snapshotXmin?: string,
): Promise<{ id: string; seal_seq: string } | null> {
  const { rows } = await sql<{ id: string }>`
    insert into reconciliation_checkpoints
      (previous_id, mode, seal_seq, seal_hash, snapshot_xmin, transactions, postings, wallets)
    values (${last?.id ?? null}::bigint, ${mode}, ${at.seq}, ${at.hash},
      coalesce(${snapshotXmin ?? null}::xid8, pg_snapshot_xmin(pg_current_snapshot())),
      ${counts.transactions}, ${counts.postings}, ${counts.wallets})
    on conflict do nothing
    returning id::text`.execute(trx);
  const id = rows[0]?.id;
  return id === undefined ? null : { id, seal_seq: at.seq.toString() };
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

  const wallets = await sql<WalletBalances>`
    select w.id, w.kind, w.posted::text, w.pending::text, w.overdraft_limit::text,
      coalesce(p.total, 0)::text as from_postings, coalesce(h.total, 0)::text as from_holds
    from wallets w
    left join (select wallet_id, sum(amount) as total from postings group by wallet_id) p on p.wallet_id = w.id
    left join (select wallet_id, sum(amount) as total from holds where status = 'active' group by wallet_id) h on h.wallet_id = w.id`.execute(
    trx,
  );
  for (const w of wallets.rows) compareWallet(w, out);
  const postings = await trx
    .selectFrom('postings')
    .select(sql<string>`count(*)::text`.as('n'))
    .executeTakeFirstOrThrow();
  return { wallets: wallets.rows.length, postings: Number(postings.n) };
}

interface WalletBalances {
  id: string;
  kind: string;
  posted: string;
  pending: string;
  overdraft_limit: string;
  from_postings: string;
  from_holds: string;
}

function compareWallet(w: WalletBalances, out: Discrepancy[]): void {
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

/**
 * The incremental (b): compares the wallets touched since the checkpoint's snapshot with the
 * sum of their postings (kept per wallet up to the checkpoint, plus `delta` posted in the
 * verified range, plus the postings of transactions not sealed yet) and their open holds.
 * "Touched" is read from the row version (`xmin`), which nothing can write but PostgreSQL: any
 * UPDATE of a wallet, by the service or by hand, gives its row a transaction id newer than the
 * snapshot. `xmin` is 32 bits; it is widened with the epoch of the current snapshot (a row whose
 * transaction is older than 2^32 transactions would count as touched, which only costs a check).
 */
async function checkTouchedWallets(
  trx: Db,
  snapshotXmin: string,
  delta: Map<string, bigint>,
  out: Discrepancy[],
): Promise<number> {
  const ids = [...delta.keys()];
  const { rows } = await sql<WalletBalances>`
    with next_xid as (select pg_snapshot_xmax(pg_current_snapshot())::text::bigint as nx),
    delta as (
      select * from unnest(${ids}::uuid[], ${ids.map((id) => delta.get(id)!.toString())}::bigint[])
        as d(wallet_id, amount)),
    unsealed as (
      select p.wallet_id, sum(p.amount) as amount
      from journal_unsealed u join postings p on p.transaction_id = u.transaction_id
      group by p.wallet_id),
    touched as (
      select w.id from wallets w, next_xid n
      where w.pending <> 0
        or ((n.nx >> 32) << 32) + w.xmin::text::bigint
          - case when ((n.nx >> 32) << 32) + w.xmin::text::bigint > n.nx then 4294967296 else 0 end
          >= ${snapshotXmin}::text::bigint
      union select wallet_id from delta
      union select wallet_id from unsealed
      union select wallet_id from holds where status = 'active')
    select w.id, w.kind, w.posted::text, w.pending::text, w.overdraft_limit::text,
      (coalesce(b.posted, 0) + coalesce(d.amount, 0) + coalesce(u.amount, 0))::text as from_postings,
      coalesce((select sum(h.amount) from holds h where h.wallet_id = w.id and h.status = 'active'), 0)::text
        as from_holds
    from touched t
    join wallets w on w.id = t.id
    left join reconciliation_wallet_balances b on b.wallet_id = w.id
    left join delta d on d.wallet_id = w.id
    left join unsealed u on u.wallet_id = w.id`.execute(trx);
  for (const w of rows) compareWallet(w, out);
  return rows.length;
}

interface SealRow {
  seq: bigint;
  transaction_id: string;
  prev_hash: string;
  hash: string;
  hash_version: number;
  id: string | null;
  kind: string | null;
  currency: string | null;
  reference: string | null;
  transfer_id: string | null;
  hold_id: string | null;
  reverses_id: string | null;
  created_at: Date | null;
}

/**
 * Walks the seals after `from` in sequence order, at most `limit` of them, recomputing every
 * hash from the sealed transaction's content and postings (read by `legsOf`), and hands each
 * batch to `onBatch` (which returns how many of its postings wait for the relay).
 */
async function walkChain<L extends HashablePosting>(
  trx: Db,
  from: ChainPosition,
  out: Discrepancy[],
  limit: number,
  legsOf: (trx: Db, transactionIds: string[]) => Promise<Map<string, L[]>>,
  onBatch?: (seals: SealRow[], legsByTx: Map<string, L[]>) => Promise<number>,
): Promise<{ head: ChainPosition; count: number; pending: number; complete: boolean }> {
  let prevHash = from.hash;
  let expectedSeq = from.seq + 1n;
  let head = from;
  let count = 0;
  let pending = 0;
  for (;;) {
    const size = Math.min(SEAL_BATCH, limit - count);
    if (size <= 0) {
      const more = await trx
        .selectFrom('journal_seals')
        .select('seq')
        .where('seq', '>', head.seq)
        .limit(1)
        .execute();
      return { head, count, pending, complete: more.length === 0 };
    }
    const seals: SealRow[] = await trx
      .selectFrom('journal_seals as s')
      .leftJoin('journal_transactions as t', 't.id', 's.transaction_id')
      .select([
        's.seq',
        's.transaction_id',
        's.prev_hash',
        's.hash',
        's.hash_version',
        't.id',
        't.kind',
        't.currency',
        't.reference',
        't.transfer_id',
        't.hold_id',
        't.reverses_id',
        't.created_at',
      ])
      .where('s.seq', '>', head.seq)
      .orderBy('s.seq')
      .limit(size)
      .execute();
    if (seals.length === 0) return { head, count, pending, complete: true };
    const byTx = await legsOf(
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
      // Each seal verifies with the version it was written with (journal-hash.ts).
      if (!isHashVersion(s.hash_version)) {
        out.push({ check: 'hash_chain', ...at, problem: `unknown hash version ${s.hash_version}` });
      } else if (
        !content ||
        journalHash(content, byTx.get(s.transaction_id) ?? [], s.hash_version) !== s.hash
      ) {
        out.push({ check: 'hash_chain', ...at, problem: 'hash does not match the transaction content' });
      }
      prevHash = s.hash;
      expectedSeq = s.seq + 1n;
      head = { seq: s.seq, hash: s.hash };
    }
    if (onBatch) pending += await onBatch(seals, byTx);
  }
}

/** A posting as the incremental run verifies it: its legs' hash input plus what (a) and (c) read. */
interface LedgerPosting extends HashablePosting, MongoPosting {
  wallet_kind: string;
  wallet_currency: string;
}

async function postingsToVerify(trx: Db, transactionIds: string[]): Promise<Map<string, LedgerPosting[]>> {
  const { rows } = await sql<LedgerPosting>`
    select p.id, p.position, p.wallet_id, p.amount, p.currency, p.transaction_id,
      p.balance_after, p.created_at, w.kind as wallet_kind, w.currency as wallet_currency,
      ${relayedColumn} as relayed
    from postings p
    join wallets w on w.id = p.wallet_id
    ${outboxJoins}
    where p.transaction_id = any(${transactionIds}::uuid[])`.execute(trx);
  const byTx = new Map<string, LedgerPosting[]>();
  for (const row of rows) {
    const legs = byTx.get(row.transaction_id);
    if (legs) legs.push(row);
    else byTx.set(row.transaction_id, [row]);
  }
  return byTx;
}

/** The incremental (a) for one sealed transaction: at least two postings, summing to zero, in its currency. */
function checkTransaction(seal: SealRow, legs: LedgerPosting[], out: Discrepancy[]): void {
  const sum = legs.reduce((total, p) => total + p.amount, 0n);
  if (legs.length < 2 || sum !== 0n) {
    out.push({
      check: 'transaction_unbalanced',
      transaction_id: seal.transaction_id,
      sum: sum.toString(),
      postings: legs.length,
    });
  }
  for (const p of legs) {
    if (p.currency !== seal.currency || p.currency !== p.wallet_currency) {
      out.push({
        check: 'posting_currency',
        posting_id: p.id,
        posting: p.currency,
        transaction: seal.currency ?? '',
        wallet: p.wallet_currency,
      });
    }
  }
}

/**
 * Names the journal transactions still unsealed after `unsealedAfterSeconds` (the sealer runs
 * every few hundred ms, so old ones mean it is stuck) and returns the ids of all unsealed ones.
 * `all` looks for any transaction without a seal (full run); `queued` reads only the sealer's
 * queue (incremental: a transaction missing from both is caught by its wallets' balances).
 */
async function checkUnsealed(
  trx: Db,
  out: Discrepancy[],
  unsealedAfterSeconds: number,
  scope: 'all' | 'queued',
): Promise<string[]> {
  const unsealed =
    scope === 'all'
      ? await sql<{ id: string; created_at: Date; overdue: boolean }>`
    select t.id, t.created_at, t.created_at < now() - make_interval(secs => ${unsealedAfterSeconds}) as overdue
    from journal_transactions t
    where not exists (select 1 from journal_seals s where s.transaction_id = t.id)
    order by t.created_at`.execute(trx)
      : await sql<{ id: string; created_at: Date; overdue: boolean }>`
    select u.transaction_id as id, u.created_at,
      u.created_at < now() - make_interval(secs => ${unsealedAfterSeconds}) as overdue
    from journal_unsealed u order by u.created_at`.execute(trx);
  for (const t of unsealed.rows) {
    if (t.overdue)
      out.push({ check: 'journal_unsealed', transaction_id: t.id, created_at: t.created_at.toISOString() });
  }
  return unsealed.rows.map((t) => t.id);
}

/**
 * Whether a user posting's outbox row was relayed; null when it has none. Its history document
 * is queued on its own (`o`) or inside its transaction's bundle (`b`, one row per transfer step).
 */
const relayedColumn = sql<boolean | null>`case when o.id is null and b.id is null then null
  else coalesce(o.relayed_at, b.relayed_at) is not null end`;

const outboxJoins = sql`
  left join outbox o on o.collection = 'transaction_history' and o.event_id = p.id::text
  left join outbox b on b.collection = 'bundle' and b.event_id = p.transaction_id::text`;

interface MongoPosting {
  id: string;
  transaction_id: string;
  wallet_id: string;
  amount: bigint;
  balance_after: bigint;
  relayed: boolean | null;
}

type PendingPosting = Pick<MongoPosting, 'id' | 'transaction_id'>;

/**
 * (c), first half, inside the snapshot: every user-wallet posting has its outbox row and, once
 * relayed, its MongoDB document with the same content. Walks postings by `seq` in batches so
 * memory stays flat however long the journal is; returns the postings still waiting for the relay.
 */
async function checkMongoHasPostings(trx: Db, mongo: MongoDb, out: Discrepancy[]) {
  let after = 0n;
  const pending: PendingPosting[] = [];
  for (;;) {
    const rows = await sql<MongoPosting & { seq: bigint }>`
      select p.id, p.seq, p.transaction_id, p.wallet_id, p.amount, p.balance_after,
        ${relayedColumn} as relayed
      from postings p
      join wallets w on w.id = p.wallet_id and w.kind = 'user'
      ${outboxJoins}
      where p.seq > ${after}
      order by p.seq
      limit ${BATCH}`.execute(trx);
    if (rows.rows.length === 0) break;
    after = rows.rows.at(-1)!.seq;
    for (const p of await checkDocuments(mongo, rows.rows, out))
      pending.push({ id: p.id, transaction_id: p.transaction_id });
  }
  return { pending };
}

/**
 * Compares a batch of user-wallet postings with their MongoDB documents (one `$in` query) and
 * returns those whose document is not relayed yet.
 */
async function checkDocuments<P extends MongoPosting>(
  mongo: MongoDb,
  rows: P[],
  out: Discrepancy[],
): Promise<P[]> {
  const pending: P[] = [];
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const docs = await mongo
      .collection<HistoryDocument>(HISTORY)
      .find(
        { _id: { $in: batch.map((r) => r.id) } },
        { projection: { _id: 1, wallet_id: 1, amount: 1, direction: 1, balance_after: 1 } },
      )
      .toArray();
    const byId = new Map(docs.map((d) => [d._id, d as unknown as Record<string, unknown>]));
    for (const p of batch) {
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
        } else pending.push(p);
        continue;
      }
      const amount = p.amount;
      const want: Record<string, string> = {
        wallet_id: p.wallet_id,
        amount: (amount < 0n ? -amount : amount).toString(),
        direction: amount < 0n ? 'debit' : 'credit',
        balance_after: p.balance_after.toString(),
      };
      for (const [field, value] of Object.entries(want)) {
        const got = String(doc[field]);
        if (got !== value)
          out.push({ check: 'mongo_mismatch', posting_id: p.id, field, expected: value, found: got });
      }
    }
  }
  return pending;
}

/**
 * (c), second half, after the snapshot (full runs only): every MongoDB history document belongs
 * to a user-wallet posting. Read against the current data, so a posting committed after the
 * snapshot (and already relayed) is not mistaken for a stray document. `_id` is unique, so
 * nothing is there twice.
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
