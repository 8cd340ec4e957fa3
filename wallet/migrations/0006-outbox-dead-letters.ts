import { sql, type Kysely } from 'kysely';

/**
 * The outbox relay no longer stops on one bad document, and what it and the idempotency purge
 * read is indexed.
 *
 * - `claimed_until`: a relay claims a batch by setting a lease in a short committed transaction,
 *   writes to MongoDB with no PostgreSQL transaction open, then marks the rows. A relay that died
 *   mid-batch leaves its rows to be claimed again once the lease has passed.
 * - `attempts`, `last_error`: a document MongoDB refused; after the configured number of attempts
 *   the row moves to `outbox_dead_letters`, so the rows after it flow (docs/runbook.md requeues).
 * - `outbox_relayed`: the retention purge deletes relayed rows by age.
 * - `idempotency_keys_created_at`: the key purge selects by age (it scanned the whole table).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table outbox
      add column claimed_until timestamptz,
      add column attempts integer not null default 0,
      add column last_error text`.execute(db);
  await sql`create index outbox_relayed on outbox (relayed_at) where relayed_at is not null`.execute(db);
  await sql`
    create table outbox_dead_letters (
      id bigint primary key,
      event_id text not null,
      collection text not null,
      document jsonb not null,
      created_at timestamptz not null,
      attempts integer not null,
      last_error text,
      dead_at timestamptz not null default now(),
      unique (collection, event_id)
    )`.execute(db);
  await sql`create index idempotency_keys_created_at on idempotency_keys (created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists idempotency_keys_created_at`.execute(db);
  await sql`drop table if exists outbox_dead_letters`.execute(db);
  await sql`drop index if exists outbox_relayed`.execute(db);
  await sql`alter table outbox drop column claimed_until, drop column attempts, drop column last_error`.execute(
    db,
  );
}
