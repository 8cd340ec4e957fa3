import { sql, type Kysely } from 'kysely';

/**
 * Issue 15, item 1: a transfer's record outlives Temporal's retention.
 *
 * - `transfer_records`: the final public view of each closed `transferWorkflow`, one row per
 *   transfer id, written off the hot path by the orchestrator's archive sweep
 *   (workflows/transfer-archive-workflow.ts). The gateway answers reads from it once Temporal no
 *   longer knows the run, and lists from it. `initiated_by` is the user who started it (the
 *   gateway's ownership rule); `steps` holds each step's name, status, attempts and error code
 *   (never the raw reason, which stays with Temporal for operators); `closed_at` is when the run
 *   closed, so a later run of the same id (a reset) replaces an older one and never the reverse.
 * - `transfer_archive_checkpoint`: how far the sweep has archived, as one row. Every run closed
 *   at or before `closed_through` is recorded; while a window `(closed_through, window_until]` is
 *   being paged, `page_token` is visibility's position in it, so a sweep that died resumes there.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table transfer_records (
      transfer_id text primary key check (length(transfer_id) between 1 and 128),
      run_id text not null,
      initiated_by text not null check (length(initiated_by) between 1 and 200),
      status text not null check (status in ('pending', 'awaiting_confirmation', 'processing', 'completed',
        'failed', 'cancelled', 'compensating', 'needs_attention')),
      from_wallet_id text not null,
      to_wallet_id text not null,
      amount bigint not null check (amount > 0),
      currency char(3) not null,
      description text not null,
      steps jsonb not null check (jsonb_typeof(steps) = 'array'),
      failure_code text,
      created_at timestamptz not null,
      completed_at timestamptz,
      closed_at timestamptz not null,
      archived_at timestamptz not null default now()
    )`.execute(db);
  // A user's transfers, newest first (the gateway's list pages on (created_at, transfer_id)).
  await sql`create index transfer_records_by_initiator
    on transfer_records (initiated_by, created_at desc, transfer_id desc)`.execute(db);
  await sql`
    create table transfer_archive_checkpoint (
      id boolean primary key default true check (id),
      closed_through timestamptz not null,
      window_until timestamptz,
      page_token text,
      updated_at timestamptz not null default now(),
      check (window_until is null or window_until > closed_through),
      check (page_token is null or window_until is not null)
    )`.execute(db);
  // Nothing archived yet: the first window starts at the epoch and covers every closed run.
  await sql`insert into transfer_archive_checkpoint (closed_through) values ('1970-01-01T00:00:00Z')`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists transfer_archive_checkpoint`.execute(db);
  await sql`drop table if exists transfer_records`.execute(db);
}
