import { sql, type Kysely } from 'kysely';
import type { Database, Db } from '../database.js';
import type { OutboxRow } from '../outbox/outbox.table.js';

/** What the publisher reads of an outbox row. */
export type UnpublishedRow = Pick<OutboxRow, 'id' | 'event_id' | 'collection' | 'document' | 'created_at'>;

/**
 * Claims up to `limit` outbox rows the event publisher has not settled, oldest first, with a
 * lease of `leaseMs`: one short statement that commits on its own (index `outbox_unpublished`),
 * so no transaction stays open while the broker confirms. Like the relay's claim, SKIP LOCKED and
 * the lease let several service copies publish in parallel without taking the same rows.
 */
export async function claimUnpublishedBatch(
  db: Db,
  limit: number,
  leaseMs: number,
): Promise<UnpublishedRow[]> {
  const rows = await db
    .updateTable('outbox')
    .set({ publish_claimed_until: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})` })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outbox')
        .select('id')
        .where('published_at', 'is', null)
        .where((w) =>
          w.or([w('publish_claimed_until', 'is', null), w('publish_claimed_until', '<', sql<Date>`now()`)]),
        )
        .orderBy('id')
        .limit(limit)
        .forUpdate()
        .skipLocked(),
    )
    .returning(['id', 'event_id', 'collection', 'document', 'created_at'])
    .execute();
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A trigger's event waiting in `event_queue` (migration 0039). */
export interface QueuedEventRow {
  id: bigint;
  source_id: string;
  document: unknown;
  created_at: Date;
}

/** Claims up to `limit` rows of `event_queue`, oldest first, with a lease (as above). */
export async function claimQueuedEvents(db: Db, limit: number, leaseMs: number): Promise<QueuedEventRow[]> {
  const { rows } = await sql<QueuedEventRow>`
    update event_queue set claimed_until = now() + make_interval(secs => ${leaseMs / 1000})
    where id in (
      select id from event_queue where claimed_until is null or claimed_until < now()
      order by id limit ${limit} for update skip locked)
    returning id, source_id, document, created_at`.execute(db);
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A row that could not be turned into events, and why. */
export type DeadEventRow =
  | { source: 'outbox'; row: UnpublishedRow; error: string }
  | { source: 'event_queue'; row: QueuedEventRow; error: string };

/**
 * Settles a batch in one short transaction: a copy of each unpublishable row goes to
 * `event_dead_letters`; outbox rows (published or dead-lettered) get `published_at`, so the rows
 * after them flow, and stay for the relay; `event_queue` rows are deleted.
 */
export async function settlePublishedRows(
  db: Kysely<Database>,
  settled: { outbox: readonly bigint[]; queue: readonly bigint[] },
  dead: readonly DeadEventRow[],
): Promise<void> {
  const outbox = [...settled.outbox, ...dead.flatMap((d) => (d.source === 'outbox' ? [d.row.id] : []))];
  const queue = [...settled.queue, ...dead.flatMap((d) => (d.source === 'event_queue' ? [d.row.id] : []))];
  if (outbox.length === 0 && queue.length === 0) return;
  await db.transaction().execute(async (trx) => {
    for (const d of dead) {
      const [eventId, collection] =
        d.source === 'outbox' ? [d.row.event_id, d.row.collection] : [d.row.source_id, 'event_queue'];
      await sql`
        insert into event_dead_letters (source, row_id, event_id, collection, document, created_at, error)
        values (${d.source}, ${d.row.id}, ${eventId}, ${collection}, ${JSON.stringify(d.row.document)}::jsonb,
          ${d.row.created_at}, ${d.error.slice(0, 2000)})
        on conflict (source, row_id) do update set document = excluded.document, error = excluded.error, dead_at = now()`.execute(
        trx,
      );
    }
    if (outbox.length > 0) {
      await trx
        .updateTable('outbox')
        .set({ published_at: sql<Date>`now()`, publish_claimed_until: null })
        .where('id', 'in', outbox)
        .execute();
    }
    if (queue.length > 0) {
      await sql`delete from event_queue where id = any(${queue.map(String)}::bigint[])`.execute(trx);
    }
  });
}

/** Gives back the lease on rows that were not published (the broker was unreachable). */
export async function releasePublishClaims(
  db: Db,
  claimed: { outbox: readonly bigint[]; queue: readonly bigint[] },
): Promise<void> {
  if (claimed.outbox.length > 0) {
    await db
      .updateTable('outbox')
      .set({ publish_claimed_until: null })
      .where('id', 'in', [...claimed.outbox])
      .where('published_at', 'is', null)
      .execute();
  }
  if (claimed.queue.length > 0) {
    await sql`update event_queue set claimed_until = null
      where id = any(${claimed.queue.map(String)}::bigint[])`.execute(db);
  }
}

/**
 * How many rows wait for the publisher (outbox rows not settled, queued trigger events) and how
 * old the oldest is (seconds), for the lag metric. Both read only their queue (index
 * `outbox_unpublished`; `event_queue` holds nothing else).
 */
export async function eventsBacklog(db: Db): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const { rows } = await sql<{ pending: string; age: string | null }>`
    select sum(n) as pending, extract(epoch from now() - min(oldest)) as age from (
      select count(*) as n, min(created_at) as oldest from outbox where published_at is null
      union all
      select count(*), min(created_at) from event_queue
    ) backlog`.execute(db);
  const row = rows[0];
  return { pending: Number(row?.pending ?? 0), oldestAgeSeconds: row?.age == null ? 0 : Number(row.age) };
}

/** Rows in `event_dead_letters`, for the gauge. */
export async function countEventDeadLetters(db: Db): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from event_dead_letters`.execute(db);
  return Number(rows[0]?.n ?? 0);
}

/**
 * With events off (no RABBITMQ_URL) nobody drains `event_queue`, while the triggers keep filling
 * it: the hourly purge forgets queued events older than the outbox's retention, in batches.
 * Returns how many rows were deleted.
 */
export async function purgeUnpublishedEventQueue(
  db: Db,
  retentionDays: number,
  now = new Date(),
  batch = 1000,
): Promise<number> {
  const before = new Date(now.getTime() - retentionDays * 86_400_000);
  // Rows are queued in id order, so the first row young enough (read along the key, stopping
  // there) bounds what goes: each batch then reads the key only, never the whole queue.
  const { rows } = await sql<{ id: string }>`
    select id from event_queue where created_at >= ${before} order by id limit 1`.execute(db);
  const bound = rows[0]?.id;
  let total = 0;
  for (;;) {
    const result = await sql`
      delete from event_queue where id in (
        select id from event_queue where ${bound === undefined ? sql`true` : sql`id < ${bound}`}
        order by id limit ${batch})`.execute(db);
    const n = Number(result.numAffectedRows ?? 0n);
    total += n;
    if (n < batch) return total;
  }
}
