import { sql, type Kysely } from 'kysely';

/**
 * Issue 11, item 11: WalletService no longer serves as the role that owns its tables.
 *
 * The owner role runs the migrations (`WALLET_MIGRATION_DATABASE_URL`); the service role
 * (`WALLET_DATABASE_URL`) gets, from `velora_grant_service(role)`, which the owner runs after
 * every migration at start (wallet/database-roles.ts):
 *
 * - SELECT and INSERT only on the journal — `journal_transactions`, `postings`,
 *   `journal_seals` — and on the other append-only records (`deposit_references`,
 *   `wallet_status_changes`, `reconciliation_checkpoints`): no UPDATE, DELETE or TRUNCATE, so
 *   the service cannot edit, remove or empty its history, whatever its code or an attacker
 *   holding its connection does. Nor can it disable the append-only triggers or drop a
 *   constraint: only the owner may alter a table.
 * - SELECT, INSERT, UPDATE, DELETE on every other table (balances, holds, idempotency keys,
 *   the outbox, the sealer's queue…), including tables later migrations add; nothing on
 *   Kysely's bookkeeping.
 *
 * A TRUNCATE fires no row trigger, so the append-only tables also get a statement trigger that
 * refuses it: the owner, who keeps the privilege, must drop the trigger first (a schema change a
 * review sees) to empty one.
 */
const APPEND_ONLY = [
  'journal_transactions',
  'postings',
  'journal_seals',
  'deposit_references',
  'wallet_status_changes',
  'reconciliation_checkpoints',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of APPEND_ONLY) {
    await sql`create trigger ${sql.raw(`${table}_no_truncate`)} before truncate on ${sql.table(table)}
      for each statement execute function velora_append_only()`.execute(db);
  }
  await sql`
    create function velora_grant_service(p_role name) returns void language plpgsql as $$
    declare
      t text;
    begin
      if p_role = current_user then
        raise exception 'the service role must not be the owner (%): the owner can rewrite the journal', p_role;
      end if;
      execute format('grant usage on schema public to %I', p_role);
      execute format('grant select, insert, update, delete on all tables in schema public to %I', p_role);
      execute format('grant usage, select on all sequences in schema public to %I', p_role);
      foreach t in array ${sql.lit(`{${APPEND_ONLY.join(',')}}`)}::text[] loop
        execute format('revoke update, delete, truncate, references, trigger on %I from %I', t, p_role);
      end loop;
      foreach t in array array['kysely_migration', 'kysely_migration_lock'] loop
        execute format('revoke all on %I from %I', t, p_role);
      end loop;
    end $$`.execute(db);
  await sql`revoke execute on function velora_grant_service(name) from public`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists velora_grant_service(name)`.execute(db);
  for (const table of APPEND_ONLY) {
    await sql`drop trigger if exists ${sql.raw(`${table}_no_truncate`)} on ${sql.table(table)}`.execute(db);
  }
}
