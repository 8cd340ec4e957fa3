import { sql, type Kysely } from 'kysely';

/**
 * Issue 13, item 2: the outbox also feeds domain events to RabbitMQ (docs/events.md), with its
 * own progress next to the MongoDB relay's, so neither waits for the other.
 *
 * - `outbox.published_at`: when the event publisher settled the row (its events confirmed by the
 *   broker, or the row carries none). Rows queued before this migration count as settled at the
 *   migration (the column's default while it is added, then dropped: no table rewrite), so events
 *   start with the first movement after the upgrade.
 * - `outbox.publish_claimed_until`: the publisher's lease, like `claimed_until` is the relay's.
 * - `outbox_unpublished`: the publisher's queue, a partial index that holds only the rows not
 *   yet settled (one index entry per queued row, removed once published).
 * - `event_dead_letters`: a copy of a row the publisher could not turn into events (a document
 *   of an unexpected shape), from the outbox (whose row stays for MongoDB, marked settled) or
 *   from `event_queue` (0039; its row is deleted), so the rows after it flow. docs/runbook.md
 *   says how to requeue one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table outbox
      add column published_at timestamptz default now(),
      add column publish_claimed_until timestamptz`.execute(db);
  await sql`alter table outbox alter column published_at drop default`.execute(db);
  await sql`create index outbox_unpublished on outbox (id) where published_at is null`.execute(db);
  await sql`
    create table event_dead_letters (
      source text not null check (source in ('outbox', 'event_queue')),
      row_id bigint not null,
      event_id text not null,
      collection text not null,
      document jsonb not null,
      created_at timestamptz not null,
      error text not null,
      dead_at timestamptz not null default now(),
      primary key (source, row_id)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists event_dead_letters`.execute(db);
  await sql`drop index if exists outbox_unpublished`.execute(db);
  await sql`alter table outbox drop column publish_claimed_until, drop column published_at`.execute(db);
}
