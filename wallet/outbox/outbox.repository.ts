import { sql } from 'kysely';
import type { Db } from '../database.js';
import type { OutboxRow } from './outbox.table.js';

/** A MongoDB collection the relay writes to. */
export type OutboxCollection = 'transaction_history' | 'transaction_auth_log' | 'audit_trace';

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
 * Claims up to `limit` unrelayed rows, oldest first. SKIP LOCKED lets several relays (one per
 * service copy) drain in parallel without taking the same rows.
 */
export async function claimOutboxBatch(db: Db, limit: number): Promise<OutboxRow[]> {
  return db
    .selectFrom('outbox')
    .selectAll()
    .where('relayed_at', 'is', null)
    .orderBy('id')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function markOutboxRelayed(db: Db, ids: readonly bigint[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('outbox')
    .set({ relayed_at: sql<Date>`now()` })
    .where('id', 'in', [...ids])
    .execute();
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
