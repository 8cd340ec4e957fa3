import { sql, type Kysely } from 'kysely';

/**
 * Issue 9, item 4: PostgreSQL rebuilds every CHECK constraint of a table from its stored text
 * for each INSERT or UPDATE statement on it (0009 said why). After 0010 that was still 17
 * constraint rebuilds per reserve + capture (wallets 5 × 2 statements, holds 3 × 2, postings 1),
 * ~10 % of a pair's instructions. What may be stored does not change:
 *
 * - Single-column money rules become domains, checked only when the column is written:
 *   `wallets.pending`, `wallets.overdraft_limit` (`velora_non_negative_amount`, ≥ 0),
 *   `holds.amount` (`velora_positive_amount`, > 0), `postings.amount` (`velora_nonzero_amount`).
 * - `wallets_owner` and `wallets_shard` constrain columns no balance update writes (kind,
 *   user_id, system_name, shard): a `BEFORE INSERT OR UPDATE OF` those columns trigger checks
 *   the same rules and fails with the same constraint name and SQLSTATE (23514), so only a new
 *   wallet pays for them.
 * - The two hold rules on `captured_amount` become one CHECK (`holds_captured`).
 *
 * `wallets_available_non_negative` — no user wallet below its overdraft limit — stays a CHECK
 * on the row, untouched.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create domain velora_non_negative_amount as bigint check (value >= 0)`.execute(db);
  await sql`create domain velora_positive_amount as bigint check (value > 0)`.execute(db);
  await sql`create domain velora_nonzero_amount as bigint check (value <> 0)`.execute(db);
  await sql`
    alter table wallets drop constraint wallets_pending_check, drop constraint wallets_overdraft_limit_check,
      alter column pending type velora_non_negative_amount,
      alter column overdraft_limit type velora_non_negative_amount`.execute(db);
  await sql`alter table holds drop constraint holds_amount_check, alter column amount type velora_positive_amount`.execute(
    db,
  );
  await sql`alter table postings drop constraint postings_amount_check, alter column amount type velora_nonzero_amount`.execute(
    db,
  );
  await sql`
    alter table holds drop constraint holds_captured_range, drop constraint holds_captured_only_when_captured,
      add constraint holds_captured check (
        captured_amount >= 0 and captured_amount <= amount and (status = 'captured' or captured_amount = 0))`.execute(
    db,
  );

  await sql`
    create function velora_wallet_shape() returns trigger language plpgsql as $$
    begin
      if not ((new.kind = 'user' and new.user_id is not null and new.system_name is null)
              or (new.kind = 'system' and new.user_id is null and new.system_name is not null)) then
        raise exception 'new row for relation "wallets" violates check constraint "wallets_owner"'
          using errcode = '23514', constraint = 'wallets_owner', table = 'wallets';
      end if;
      if not (new.shard >= 0 and (new.kind = 'system' or new.shard = 0)) then
        raise exception 'new row for relation "wallets" violates check constraint "wallets_shard"'
          using errcode = '23514', constraint = 'wallets_shard', table = 'wallets';
      end if;
      return new;
    end $$`.execute(db);
  await sql`alter table wallets drop constraint wallets_owner, drop constraint wallets_shard`.execute(db);
  await sql`
    create trigger wallets_shape before insert or update of kind, user_id, system_name, shard on wallets
      for each row execute function velora_wallet_shape()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger wallets_shape on wallets`.execute(db);
  await sql`drop function velora_wallet_shape()`.execute(db);
  await sql`
    alter table wallets
      add constraint wallets_owner check (
        (kind = 'user' and user_id is not null and system_name is null)
        or (kind = 'system' and user_id is null and system_name is not null)),
      add constraint wallets_shard check (shard >= 0 and (kind = 'system' or shard = 0)),
      alter column pending type bigint, alter column overdraft_limit type bigint,
      add constraint wallets_pending_check check (pending >= 0),
      add constraint wallets_overdraft_limit_check check (overdraft_limit >= 0)`.execute(db);
  await sql`
    alter table holds drop constraint holds_captured, alter column amount type bigint,
      add constraint holds_amount_check check (amount > 0),
      add constraint holds_captured_range check (captured_amount >= 0 and captured_amount <= amount),
      add constraint holds_captured_only_when_captured check (status = 'captured' or captured_amount = 0)`.execute(
    db,
  );
  await sql`alter table postings alter column amount type bigint, add constraint postings_amount_check check (amount <> 0)`.execute(
    db,
  );
  for (const d of ['velora_non_negative_amount', 'velora_positive_amount', 'velora_nonzero_amount'])
    await sql`drop domain ${sql.raw(d)}`.execute(db);
}
