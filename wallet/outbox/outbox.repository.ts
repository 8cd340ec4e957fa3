import { sql, type Kysely } from 'kysely';
import type { Database, Db } from '../database.js';
import type { OutboxRow } from './outbox.table.js';

/** A MongoDB collection the relay writes to. */
export type OutboxCollection = 'transaction_history' | 'transaction_auth_log' | 'audit_trace';

/**
 * The `collection` of an outbox row that carries several documents, `{ "events": [{ event_id,
 * collection, document }] }`: the transfer functions queue one per step (migration 0010); the
 * relay writes each event to its collection with `_id` = its event id.
 */
export const OUTBOX_BUNDLE = 'bundle';

export interface OutboxEvent {
  /** Becomes the document's `_id`, which makes the relay's writes idempotent. */
  eventId: string;
  collection: OutboxCollection;
  document: Record<string, unknown>;
}

/** Queues documents for MongoDB inside the caller's transaction. */
export async function enqueueOutbox(db: Db, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('outbox')
    .values(
      events.map((e) => ({
        event_id: e.eventId,
        collection: e.collection,
        document: JSON.stringify(e.document),
        relayed_at: null,
      })),
    )
    .execute();
}

/**
 * Claims up to `limit` unrelayed rows, oldest first, by giving them a lease of `leaseMs`: one
 * short statement that commits on its own, so no transaction stays open while the caller writes
 * to MongoDB. SKIP LOCKED and the lease let several relays (one per service copy) drain in
 * parallel without taking the same rows; rows of a relay that died are taken again once the
 * lease has passed.
 */
export async function claimOutboxBatch(db: Db, limit: number, leaseMs: number): Promise<OutboxRow[]> {
  const rows = await db
    .updateTable('outbox')
    .set({ claimed_until: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outbox')
        .select('id')
        .where('relayed_at', 'is', null)
        .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<', sql<Date>`now()`)]))
        .orderBy('id')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A row MongoDB refused, with its reason. */
export interface OutboxFailure {
  id: bigint;
  error: string;
}

/**
 * Records a batch's outcome in one short transaction: accepted rows are marked relayed; refused
 * rows count an attempt, keep the reason and wait `retryDelayMs` × attempts before the next
 * claim; a row refused `maxAttempts` times moves to `outbox_dead_letters`. Returns how many
 * rows were dead-lettered.
 */
export async function recordOutboxOutcome(
  db: Kysely<Database>,
  outcome: { relayed: readonly bigint[]; failed: readonly OutboxFailure[] },
  limits: { maxAttempts: number; retryDelayMs: number },
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    if (outcome.relayed.length > 0) {
      await trx
        .updateTable('outbox')
        .set({ relayed_at: sql<Date>`now()`, claimed_until: null })
        .where('id', 'in', [...outcome.relayed])
        .execute();
    }
    if (outcome.failed.length === 0) return 0;
    for (const f of outcome.failed) {
      await sql`
        update outbox set attempts = attempts + 1, last_error = ${f.error.slice(0, 2000)},
          claimed_until = now() + make_interval(secs => ${limits.retryDelayMs / 1000} * (attempts + 1))
        where id = ${f.id}`.execute(trx);
    }
    const moved = await sql`
      with dead as (
        delete from outbox where id = any(${outcome.failed.map((f) => f.id.toString())}::bigint[])
          and attempts >= ${limits.maxAttempts}
        returning id, event_id, collection, document, created_at, attempts, last_error
      )
      insert into outbox_dead_letters (id, event_id, collection, document, created_at, attempts, last_error)
      select id, event_id, collection, document, created_at, attempts, last_error from dead
      on conflict (collection, event_id) do update set
        id = excluded.id, document = excluded.document, created_at = excluded.created_at,
        attempts = excluded.attempts, last_error = excluded.last_error, dead_at = now()`.execute(trx);
    return Number(moved.numAffectedRows ?? 0n);
  });
}

/** Gives back the lease on rows that were not relayed (the batch failed as a whole). */
export async function releaseOutboxClaims(db: Db, ids: readonly bigint[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('outbox')
    .set({ claimed_until: null })
    .where('id', 'in', [...ids])
    .where('relayed_at', 'is', null)
    .execute();
}

/**
 * The purge's statement (exported so a test can EXPLAIN it): reads index `outbox_relayed`. With
 * `waitForEvents` (domain events on, docs/events.md) a row also waits for the event publisher.
 */
export function relayedOutboxPurge(before: Date, limit: number, waitForEvents = false) {
  const published = waitForEvents ? sql`and published_at is not null` : sql``;
  return sql`
    delete from outbox where id in (
      select id from outbox where relayed_at < ${before} ${published} limit ${limit}
    )`;
}

/** Deletes up to `limit` rows relayed (and, with `waitForEvents`, published) before `before`. */
export async function deleteRelayedOutboxBefore(
  db: Db,
  before: Date,
  limit: number,
  waitForEvents = false,
): Promise<number> {
  const result = await relayedOutboxPurge(before, limit, waitForEvents).execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Forgets rows relayed more than `retentionDays` ago, in batches of `batch` (each its own short
 * statement, so the purge never holds many locks). Their documents stay in MongoDB, where
 * reconciliation keeps checking them. With `waitForEvents` a row whose domain events RabbitMQ has
 * not confirmed yet is kept however old it is. Returns how many rows were deleted.
 */
export async function purgeRelayedOutbox(
  db: Db,
  retentionDays: number,
  now = new Date(),
  batch = 1000,
  waitForEvents = false,
): Promise<number> {
  const before = new Date(now.getTime() - retentionDays * 86_400_000);
  let total = 0;
  for (;;) {
    const n = await deleteRelayedOutboxBefore(db, before, batch, waitForEvents);
    total += n;
    if (n < batch) return total;
  }
}

/** Rows in `outbox_dead_letters`, for the gauge. */
export async function countOutboxDeadLetters(db: Db): Promise<number> {
  const row = await db
    .selectFrom('outbox_dead_letters')
    .select(sql<string>`count(*)`.as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** How many rows wait and how old the oldest is (seconds), for the lag metric. */
export async function outboxBacklog(db: Db): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const row = await db
    .selectFrom('outbox')
    .select([
      sql<string>`count(*)`.as('pending'),
      sql<string | null>`extract(epoch from now() - min(created_at))`.as('age'),
    ])
    .where('relayed_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { pending: Number(row.pending), oldestAgeSeconds: row.age === null ? 0 : Number(row.age) };
}
