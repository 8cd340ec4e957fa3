import { sql, type Kysely } from 'kysely';

/**
 * Issue 12, item 4: operators freeze, unfreeze and close wallets, and every change is kept.
 *
 * - `wallet_status_changes`: one append-only row per status change (who asked, which service
 *   recorded it, why), written in the same transaction as the change itself.
 * - Closed is final: a trigger refuses any UPDATE that moves a wallet out of `closed`. It is an
 *   `UPDATE OF status` trigger, so balance updates (every reserve, capture and release) never
 *   fire it: only the rare status change pays for the check.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create domain velora_wallet_action as text check (value in ('freeze', 'unfreeze', 'close'))`.execute(
    db,
  );
  await sql`
    create table wallet_status_changes (
      id uuid primary key,
      wallet_id uuid not null references wallets (id),
      action velora_wallet_action not null,
      from_status velora_wallet_status not null,
      to_status velora_wallet_status not null,
      reason text not null check (length(reason) between 1 and 500),
      requested_by text not null check (length(requested_by) between 1 and 200),
      recorded_by text not null,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index wallet_status_changes_wallet on wallet_status_changes (wallet_id, created_at)`.execute(
    db,
  );
  await sql`create trigger wallet_status_changes_append_only before update or delete on wallet_status_changes
    for each row execute function velora_append_only()`.execute(db);

  await sql`
    create function velora_wallet_closed_is_final() returns trigger language plpgsql as $$
    begin
      raise exception 'wallet % is closed: its status cannot change', old.id using errcode = '23514';
    end $$`.execute(db);
  await sql`
    create trigger wallets_closed_is_final before update of status on wallets
      for each row when (old.status = 'closed' and new.status <> 'closed')
      execute function velora_wallet_closed_is_final()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists wallets_closed_is_final on wallets`.execute(db);
  await sql`drop function if exists velora_wallet_closed_is_final()`.execute(db);
  await sql`drop table if exists wallet_status_changes`.execute(db);
  await sql`drop domain if exists velora_wallet_action`.execute(db);
}
