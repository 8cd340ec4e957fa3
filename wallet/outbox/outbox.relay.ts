import type { Kysely } from 'kysely';
import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type Db as MongoDb,
} from 'mongodb';
import { Counter, Gauge, type Registry } from 'prom-client';
import { YIELD_EVERY, createDrainLoop, yieldToEventLoop, type DrainLoop } from '../../lib/drain-loop.js';
import type { Logger } from '../../lib/logger.js';
import type { Database } from '../database.js';
import {
  OUTBOX_BUNDLE,
  claimOutboxBatch,
  countOutboxDeadLetters,
  outboxBacklog,
  recordOutboxOutcome,
  releaseOutboxClaims,
  type OutboxFailure,
} from './outbox.repository.js';
import type { OutboxRow } from './outbox.table.js';

const DUPLICATE_KEY = 11000;
/** Documents per MongoDB insert. */
const INSERT_PIECE = 100;

export interface OutboxRelayOptions {
  db: Kysely<Database>;
  mongo: MongoDb;
  log: Logger;
  registry?: Registry;
  batchSize?: number;
  /** A document MongoDB refused this many times moves to `outbox_dead_letters`. */
  maxAttempts?: number;
  /** How long a claimed batch belongs to this relay before another may take it. */
  leaseMs?: number;
  /** A refused document waits this long × its attempts before it is tried again. */
  retryDelayMs?: number;
  /** Test seam: runs after MongoDB answered a batch and before the outcome is recorded. */
  afterMongoWrite?: (rows: readonly OutboxRow[]) => Promise<void>;
}

/** `drainOnce` relays one batch and returns how many rows it claimed (relayed or refused). */
export type OutboxRelay = DrainLoop;

/**
 * Moves outbox rows to MongoDB exactly once, without ever stopping on one bad document.
 *
 * 1. Claim a batch: a lease is set in one committed statement (no transaction stays open).
 * 2. Write it to MongoDB, unordered, so every document is tried and the error lists which ones
 *    failed. A duplicate `_id` means the document is already there (a re-send): relayed.
 * 3. Record the outcome: relayed rows are marked; a refused row counts an attempt and, after
 *    `maxAttempts`, moves to `outbox_dead_letters` so the rows after it flow.
 *
 * The document's `_id` is the entry id, so a relay killed between 2 and 3 leaves rows whose
 * lease runs out; the next claim re-sends them and the duplicates are ignored. When MongoDB is
 * unreachable the batch as a whole fails: nothing counts as an attempt and the lease is given
 * back, so an outage never dead-letters anything.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, mongo, log } = options;
  const batchSize = options.batchSize ?? 200;
  const limits = { maxAttempts: options.maxAttempts ?? 5, retryDelayMs: options.retryDelayMs ?? 1_000 };
  const leaseMs = options.leaseMs ?? 60_000;
  const registers = options.registry ? [options.registry] : [];
  const relayed = new Counter({
    name: 'wallet_outbox_relayed_total',
    help: 'Outbox rows written to MongoDB',
    registers,
  });
  // Both sampled on each /metrics scrape, so the backlog shows even while the relay is stuck. A
  // scrape collects every metric at once: the two share one query.
  let sampling: ReturnType<typeof sampleBacklog> | undefined;
  const sampleBacklog = () => outboxBacklog(db).catch(() => undefined);
  const backlog = () =>
    (sampling ??= sampleBacklog().finally(() => {
      sampling = undefined;
    }));
  new Gauge({
    name: 'wallet_outbox_pending',
    help: 'Outbox rows waiting for the relay',
    registers,
    async collect() {
      const sample = await backlog();
      if (sample) this.set(sample.pending);
    },
  });
  new Gauge({
    name: 'wallet_outbox_lag_seconds',
    help: 'Age of the oldest outbox row not yet in MongoDB (0 when drained)',
    registers,
    async collect() {
      const sample = await backlog();
      if (sample) this.set(sample.oldestAgeSeconds);
    },
  });
  const failures = new Counter({
    name: 'wallet_outbox_relay_failures_total',
    help: 'Failed relay batches',
    registers,
  });
  const refused = new Counter({
    name: 'wallet_outbox_refused_total',
    help: 'Outbox documents MongoDB refused (each attempt)',
    registers,
  });
  const deadLettered = new Counter({
    name: 'wallet_outbox_dead_letters_total',
    help: 'Outbox rows moved to outbox_dead_letters after too many refused attempts',
    registers,
  });
  new Gauge({
    name: 'wallet_outbox_dead_letters',
    help: 'Rows in outbox_dead_letters (each is a history document missing from MongoDB)',
    registers,
    async collect() {
      const n = await countOutboxDeadLetters(db).catch(() => undefined);
      if (n !== undefined) this.set(n);
    },
  });

  /** Writes the batch; returns the rows MongoDB refused (every other row is in MongoDB). */
  async function writeBatch(rows: readonly OutboxRow[]): Promise<OutboxFailure[]> {
    const failed = new Map<bigint, string>();
    const byCollection = new Map<string, PendingDocument[]>();
    for (const [i, row] of rows.entries()) {
      if (i > 0 && i % YIELD_EVERY === 0) await yieldToEventLoop();
      const documents = documentsOf(row);
      if (typeof documents === 'string') {
        failed.set(row.id, documents);
        continue;
      }
      for (const d of documents) {
        const group = byCollection.get(d.collection) ?? [];
        group.push(d);
        byCollection.set(d.collection, group);
      }
    }
    for (const [collection, group] of byCollection) {
      // In pieces: the driver encodes a whole insert synchronously (lib/drain-loop.ts). Not
      // smaller: each insert is a FerretDB transaction in PostgreSQL, and 25 documents per insert
      // doubled PostgreSQL's CPU for draining a backlog.
      for (let i = 0; i < group.length; i += INSERT_PIECE) {
        const piece = group.slice(i, i + INSERT_PIECE);
        // A bundle row is refused when any of its documents is; its others are then duplicates on retry.
        for (const f of await insertGroup(collection, piece))
          if (!failed.has(f.id)) failed.set(f.id, f.error);
      }
    }
    return [...failed].map(([id, error]) => ({ id, error }));
  }

  async function insertGroup(
    collection: string,
    group: readonly PendingDocument[],
  ): Promise<OutboxFailure[]> {
    try {
      await mongo.collection(collection).insertMany(
        group.map((d) => d.document),
        { ordered: false },
      );
      return [];
    } catch (err) {
      if (isOutage(err)) throw err;
      if (err instanceof MongoBulkWriteError && writeErrorsOf(err).length > 0) {
        return writeErrorsOf(err)
          .filter((e) => e.code !== DUPLICATE_KEY)
          .map((e) => ({ id: group[e.index]!.rowId, error: `${String(e.code)}: ${e.errmsg ?? ''}` }));
      }
      // Refused as a whole (e.g. a document the driver cannot encode): find which ones, one by one.
      if (group.length > 1) {
        const failed: OutboxFailure[] = [];
        for (const d of group) failed.push(...(await insertGroup(collection, [d])));
        return failed;
      }
      if (isDuplicate(err)) return [];
      return [{ id: group[0]!.rowId, error: describe(err) }];
    }
  }

  async function drainOnce(): Promise<number> {
    const rows = await claimOutboxBatch(db, batchSize, leaseMs);
    if (rows.length === 0) return 0;
    let failed: OutboxFailure[];
    try {
      failed = await writeBatch(rows);
      await options.afterMongoWrite?.(rows);
    } catch (err) {
      await releaseOutboxClaims(
        db,
        rows.map((r) => r.id),
      ).catch(() => undefined); // the lease runs out on its own
      throw err;
    }
    const refusedIds = new Set(failed.map((f) => f.id));
    const ok = rows.map((r) => r.id).filter((id) => !refusedIds.has(id));
    const dead = await recordOutboxOutcome(db, { relayed: ok, failed }, limits);
    relayed.inc(ok.length);
    if (failed.length > 0) {
      refused.inc(failed.length);
      log.warn({ refused: failed.length, deadLettered: dead }, 'MongoDB refused outbox documents');
    }
    if (dead > 0) {
      deadLettered.inc(dead);
      log.error({ deadLettered: dead }, 'outbox rows moved to outbox_dead_letters (docs/runbook.md)');
    }
    return rows.length;
  }

  // A failed batch is retried on the next tick or kick.
  return createDrainLoop({
    drainOnce,
    batchSize,
    onError: (err) => {
      failures.inc();
      log.warn({ err }, 'outbox relay batch failed; will retry');
    },
  });
}

/** One MongoDB document of an outbox row, and the row it came from. */
interface PendingDocument {
  rowId: bigint;
  collection: string;
  document: Record<string, unknown>;
}

/**
 * The documents of an outbox row: the row's own document, or each event of a bundle (migration
 * 0010: one row per transfer step). A malformed bundle is refused like a bad document (a string
 * saying why), so it ends in the dead letters instead of blocking the queue.
 */
function documentsOf(row: OutboxRow): PendingDocument[] | string {
  if (row.collection !== OUTBOX_BUNDLE) {
    return [
      { rowId: row.id, collection: row.collection, document: toMongoDocument(row.event_id, row.document) },
    ];
  }
  const events = row.document.events;
  if (!Array.isArray(events)) return 'bundle: no events array';
  const documents: PendingDocument[] = [];
  for (const e of events as unknown[]) {
    const { event_id, collection, document } = (e ?? {}) as Record<string, unknown>;
    if (typeof event_id !== 'string' || typeof collection !== 'string' || !isObject(document))
      return 'bundle: an event without a string event_id and collection and an object document';
    documents.push({ rowId: row.id, collection, document: toMongoDocument(event_id, document) });
  }
  return documents;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON from PostgreSQL back to BSON types: timestamps become dates. */
function toMongoDocument(eventId: string, document: Record<string, unknown>): Record<string, unknown> {
  const doc: Record<string, unknown> = { ...document, _id: eventId };
  for (const field of ['created_at', 'recorded_at']) {
    const v = doc[field];
    if (typeof v === 'string') doc[field] = new Date(v);
  }
  return doc;
}

interface WriteError {
  index: number;
  code: unknown;
  errmsg?: string;
}

function writeErrorsOf(err: MongoBulkWriteError): WriteError[] {
  return (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) as WriteError[];
}

/** MongoDB could not be reached: the batch is retried later and no document is blamed. */
function isOutage(err: unknown): boolean {
  return (
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoTopologyClosedError
  );
}

function isDuplicate(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === DUPLICATE_KEY;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
