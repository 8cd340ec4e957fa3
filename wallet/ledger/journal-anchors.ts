import type { Kysely } from 'kysely';
import { MongoServerError, type Db as MongoDb } from 'mongodb';
import { createBatchLoop, type BatchLoop } from '../../lib/batch-loop.js';
import type { Logger } from '../../lib/logger.js';
import type { Database, Db } from '../database.js';

/**
 * The chain head, written outside PostgreSQL: whoever can rewrite the journal and recompute
 * every hash inside PostgreSQL (its owner, a superuser, a restored forgery) still cannot change
 * what was anchored here, so reconciliation compares the chain with these documents
 * (docs/wallet.md, "Anchors"). One document per anchored seal, `_id` its sequence number; the
 * service only ever inserts (a second anchor of the same seal is a duplicate key, ignored).
 */
export const ANCHORS = 'journal_anchors';

export interface AnchorDocument {
  _id: number;
  hash: string;
  anchored_at: Date;
  /** `sealer`: the service's periodic anchor; `reconciliation`: a checkpoint's. */
  source: 'sealer' | 'reconciliation';
}

export interface ChainHead {
  seq: bigint;
  hash: string;
}

/** The latest seal, or undefined before the first. */
export async function chainHead(db: Db): Promise<ChainHead | undefined> {
  return db
    .selectFrom('journal_seals')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Inserts the anchor of `head`; false when that seal was anchored already. */
export async function writeAnchor(mongo: MongoDb, head: ChainHead, source: AnchorDocument['source']) {
  try {
    await mongo
      .collection<AnchorDocument>(ANCHORS)
      .insertOne({ _id: Number(head.seq), hash: head.hash, anchored_at: new Date(), source });
    return true;
  } catch (err) {
    if (err instanceof MongoServerError && err.code === 11000) return false;
    throw err;
  }
}

export interface JournalAnchorer extends BatchLoop {
  /** Anchors the current head unless it is anchored already; returns 1 when it wrote one. */
  anchorOnce(): Promise<number>;
}

/**
 * Anchors the chain head every `start(intervalMs)` (WALLET_ANCHOR_INTERVAL_MS). Several service
 * copies may anchor the same head: the duplicate is ignored. A MongoDB outage only delays it.
 */
export function createJournalAnchorer(options: {
  db: Kysely<Database>;
  mongo: MongoDb;
  log: Logger;
}): JournalAnchorer {
  let last: bigint | undefined;
  async function anchorOnce(): Promise<number> {
    const head = await chainHead(options.db);
    if (!head || head.seq === last) return 0;
    const wrote = await writeAnchor(options.mongo, head, 'sealer');
    last = head.seq;
    return wrote ? 1 : 0;
  }
  const loop = createBatchLoop({
    runOnce: anchorOnce,
    // One anchor per run: never loops at once.
    batchSize: 2,
    onError: (err) =>
      options.log.warn({ err }, 'anchoring the journal head failed; retrying on the next tick'),
  });
  return { anchorOnce, ...loop };
}

/** An anchored seal whose hash PostgreSQL no longer has (`found` null: the seal is gone). */
export interface AnchorMismatch {
  seq: bigint;
  anchored: string;
  found: string | null;
  anchored_at: Date;
}

/**
 * Compares the anchors with `seq` in [`from`, `to`] (`to` undefined: no upper bound) with the
 * seals `db` sees, in batches. Returns every anchor PostgreSQL contradicts.
 */
export async function compareAnchors(
  db: Db,
  mongo: MongoDb,
  range: { from: bigint; to?: bigint },
): Promise<{ checked: number; mismatches: AnchorMismatch[] }> {
  const filter = {
    _id: { $gte: Number(range.from), ...(range.to !== undefined && { $lte: Number(range.to) }) },
  };
  const cursor = mongo.collection<AnchorDocument>(ANCHORS).find(filter).sort({ _id: 1 }).batchSize(1000);
  const mismatches: AnchorMismatch[] = [];
  let checked = 0;
  let batch: AnchorDocument[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const seals = await db
      .selectFrom('journal_seals')
      .select(['seq', 'hash'])
      .where(
        'seq',
        'in',
        batch.map((a) => BigInt(a._id)),
      )
      .execute();
    const bySeq = new Map(seals.map((s) => [s.seq, s.hash]));
    for (const a of batch) {
      const found = bySeq.get(BigInt(a._id)) ?? null;
      if (found !== a.hash)
        mismatches.push({ seq: BigInt(a._id), anchored: a.hash, found, anchored_at: a.anchored_at });
    }
    checked += batch.length;
    batch = [];
  };
  for await (const anchor of cursor) {
    batch.push(anchor);
    if (batch.length >= 1000) await flush();
  }
  await flush();
  return { checked, mismatches };
}
