import { sql, type Kysely } from 'kysely';

/**
 * Issue 11, item 13: reconciliation resumes from a checkpoint instead of re-reading the whole
 * journal (docs/wallet.md, "Reconciliation").
 *
 * - `reconciliation_checkpoints`: one row per clean run that stored one. Everything up to seal
 *   `seal_seq` (whose hash was `seal_hash`) was verified; wallet rows written by transactions
 *   older than `snapshot_xmin` (the run's snapshot) were verified. Each row names the one it
 *   continues from, and `previous_id` is unique, so two runs that started from the same
 *   checkpoint cannot both store theirs.
 * - `reconciliation_wallet_balances`: per wallet, the sum of its postings in the transactions
 *   sealed up to the latest checkpoint's `seal_seq`. The next incremental run adds what was
 *   posted since and compares the wallets touched since with the result, without summing a
 *   wallet's whole history again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table reconciliation_checkpoints (
      id bigint generated always as identity primary key,
      previous_id bigint unique references reconciliation_checkpoints (id),
      mode text not null check (mode in ('full', 'incremental')),
      seal_seq bigint not null check (seal_seq >= 0),
      seal_hash text not null,
      snapshot_xmin xid8 not null,
      transactions bigint not null,
      postings bigint not null,
      wallets bigint not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  // Only the first checkpoint has no predecessor.
  await sql`create unique index reconciliation_checkpoints_first on reconciliation_checkpoints ((true))
    where previous_id is null`.execute(db);
  await sql`
    create table reconciliation_wallet_balances (
      wallet_id uuid primary key references wallets (id),
      posted bigint not null,
      checkpoint_id bigint not null references reconciliation_checkpoints (id)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists reconciliation_wallet_balances`.execute(db);
  await sql`drop table if exists reconciliation_checkpoints`.execute(db);
}
