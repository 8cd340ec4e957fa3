import { sql, type Kysely } from 'kysely';

/**
 * Issue 12, item 2: an operator reverses a completed transfer. `transfer_reversals` is the
 * reversal's state in the ledger, one row per transfer (the primary key: a transfer is reversed
 * at most once, whatever the callers do): `held` once the amount is held on the destination,
 * `completed` with the `reversal` journal transaction that moved it back (its `reverses_id` is
 * the transfer's capture, unique in journal_transactions as well), `released` when the reversal
 * gave up and its hold was freed. The operator and the reason are kept with it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create domain velora_reversal_status as text check (value in ('held', 'completed', 'released'))`.execute(
    db,
  );
  await sql`
    create table transfer_reversals (
      transfer_id text primary key,
      original_transaction_id uuid not null unique references journal_transactions (id),
      from_wallet_id uuid not null references wallets (id),
      to_wallet_id uuid not null references wallets (id),
      currency char(3) not null,
      transfer_amount bigint not null check (transfer_amount > 0),
      amount bigint not null check (amount > 0 and amount <= transfer_amount),
      hold_id uuid not null unique references holds (id),
      status velora_reversal_status not null,
      transaction_id uuid unique references journal_transactions (id),
      reason text not null check (length(reason) between 1 and 500),
      requested_by text not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint transfer_reversals_completed_has_transaction check ((status = 'completed') = (transaction_id is not null))
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists transfer_reversals`.execute(db);
  await sql`drop domain if exists velora_reversal_status`.execute(db);
}
