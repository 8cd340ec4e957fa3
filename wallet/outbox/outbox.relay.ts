import type { Kysely } from 'kysely';
import { MongoBulkWriteError, MongoServerError, type Db as MongoDb } from 'mongodb';
import { Counter, Gauge, type Registry } from 'prom-client';
import { createBatchLoop, type BatchLoop } from '../../lib/batch-loop.js';
import type { Logger } from '../../lib/logger.js';
import type { Database } from '../database.js';
import { claimOutboxBatch, markOutboxRelayed, outboxBacklog } from './outbox.repository.js';
import type { OutboxRow } from './outbox.table.js';

const DUPLICATE_KEY = 11000;

export interface OutboxRelayOptions {
  db: Kysely<Database>;
  mongo: MongoDb;
  log: Logger;
  registry?: Registry;
  batchSize?: number;
  /** Test seam: runs after MongoDB accepted a batch and before the rows are marked relayed. */
  afterMongoWrite?: (rows: readonly OutboxRow[]) => Promise<void>;
}

export interface OutboxRelay extends BatchLoop {
  /** Relays one batch; returns how many rows it relayed. */
  drainOnce(): Promise<number>;
  /** Relays until the outbox is empty. */
  drainAll(): Promise<number>;
}

/**
 * Moves outbox rows to MongoDB exactly once. A row is marked relayed only after MongoDB accepted
 * its document, and the document's `_id` is the entry id, so a relay killed between the two
 * steps re-sends the batch on restart and the duplicate-key answers are ignored: every entry
 * ends up in MongoDB once.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, mongo, log } = options;
  const batchSize = options.batchSize ?? 200;
  const registers = options.registry ? [options.registry] : [];
  const relayed = new Counter({
    name: 'wallet_outbox_relayed_total',
    help: 'Outbox rows written to MongoDB',
    registers,
  });
  const pending = new Gauge({
    name: 'wallet_outbox_pending',
    help: 'Outbox rows waiting for the relay',
    registers,
  });
  // Sampled on each /metrics scrape, so the lag is visible even while the relay is stuck.
  new Gauge({
    name: 'wallet_outbox_lag_seconds',
    help: 'Age of the oldest outbox row not yet in MongoDB (0 when drained)',
    registers,
    async collect() {
      const backlog = await outboxBacklog(db).catch(() => undefined);
      if (backlog) {
        this.set(backlog.oldestAgeSeconds);
        pending.set(backlog.pending);
      }
    },
  });
  const failures = new Counter({
    name: 'wallet_outbox_relay_failures_total',
    help: 'Failed relay batches',
    registers,
  });

  async function writeBatch(rows: readonly OutboxRow[]): Promise<void> {
    const byCollection = new Map<string, Record<string, unknown>[]>();
    for (const row of rows) {
      const docs = byCollection.get(row.collection) ?? [];
      docs.push(toMongoDocument(row));
      byCollection.set(row.collection, docs);
    }
    for (const [collection, docs] of byCollection) {
      try {
        await mongo.collection(collection).insertMany(docs, { ordered: false });
      } catch (err) {
        if (!onlyDuplicates(err)) throw err;
      }
    }
  }

  async function drainOnce(): Promise<number> {
    return db.transaction().execute(async (trx) => {
      const rows = await claimOutboxBatch(trx, batchSize);
      if (rows.length === 0) return 0;
      await writeBatch(rows);
      await options.afterMongoWrite?.(rows);
      await markOutboxRelayed(
        trx,
        rows.map((r) => r.id),
      );
      relayed.inc(rows.length);
      return rows.length;
    });
  }

  const loop = createBatchLoop({
    runOnce: drainOnce,
    batchSize,
    onError: (err) => {
      failures.inc();
      log.warn({ err }, 'outbox relay batch failed; will retry');
    },
  });

  return {
    drainOnce,
    async drainAll() {
      let total = 0;
      for (;;) {
        const n = await drainOnce();
        total += n;
        if (n === 0) return total;
      }
    },
    start: loop.start,
    kick: loop.kick,
    stop: loop.stop,
  };
}

/** JSON from PostgreSQL back to BSON types: timestamps become dates. */
function toMongoDocument(row: OutboxRow): Record<string, unknown> {
  const doc: Record<string, unknown> = { ...row.document, _id: row.event_id };
  for (const field of ['created_at', 'recorded_at']) {
    const v = doc[field];
    if (typeof v === 'string') doc[field] = new Date(v);
  }
  return doc;
}

/** True when every failed write of an unordered insert was a duplicate `_id` (already relayed). */
function onlyDuplicates(err: unknown): boolean {
  if (err instanceof MongoBulkWriteError) {
    const errors = (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]) as {
      code: unknown;
    }[];
    return errors.length > 0 && errors.every((e) => e.code === DUPLICATE_KEY);
  }
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}
