import { sql, type Kysely } from 'kysely';

/**
 * The ledger schema. Balances live on the wallet row and are guarded by CHECK constraints, so a
 * bug in the service can fail a request but can never store a negative available balance.
 * Journal rows are append-only (triggers refuse UPDATE and DELETE) and every journal
 * transaction must balance to zero when its database transaction commits.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table wallets (
      id uuid primary key,
      kind text not null check (kind in ('user', 'system')),
      user_id uuid,
      system_name text check (system_name in ('funding', 'settlement', 'fees')),
      currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
      status text not null default 'active' check (status in ('active', 'frozen', 'closed')),
      posted bigint not null default 0,
      pending bigint not null default 0 check (pending >= 0),
      overdraft_limit bigint not null default 0 check (overdraft_limit >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint wallets_owner check (
        (kind = 'user' and user_id is not null and system_name is null)
        or (kind = 'system' and user_id is null and system_name is not null)
      ),
      -- System accounts may go negative (they close the books); user wallets never below
      -- their overdraft limit (0 unless an operator granted one).
      constraint wallets_available_non_negative check (kind = 'system' or posted - pending + overdraft_limit >= 0)
    )`.execute(db);
  await sql`create unique index wallets_user_currency on wallets (user_id, currency) where kind = 'user'`.execute(
    db,
  );
  await sql`create unique index wallets_system_currency on wallets (system_name, currency) where kind = 'system'`.execute(
    db,
  );

  await sql`
    create table chain_head (
      id smallint primary key check (id = 1),
      seq bigint not null,
      last_hash text not null
    )`.execute(db);
  await sql`insert into chain_head (id, seq, last_hash) values (1, 0, ${'0'.repeat(64)})`.execute(db);

  await sql`
    create table journal_transactions (
      id uuid primary key,
      seq bigint not null unique,
      kind text not null check (kind in ('deposit', 'withdrawal', 'transfer', 'reversal')),
      currency char(3) not null,
      reference text,
      transfer_id text,
      hold_id uuid,
      reverses_id uuid unique references journal_transactions (id),
      created_at timestamptz not null,
      prev_hash text not null,
      hash text not null unique
    )`.execute(db);

  await sql`
    create table postings (
      id uuid primary key,
      seq bigint generated always as identity unique,
      transaction_id uuid not null references journal_transactions (id),
      position smallint not null,
      wallet_id uuid not null references wallets (id),
      currency char(3) not null,
      amount bigint not null check (amount <> 0),
      balance_after bigint not null,
      created_at timestamptz not null,
      unique (transaction_id, position)
    )`.execute(db);
  await sql`create index postings_wallet_created on postings (wallet_id, created_at)`.execute(db);

  await sql`
    create function velora_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'table % is append-only', tg_table_name using errcode = 'P0001';
    end $$`.execute(db);
  for (const table of ['journal_transactions', 'postings']) {
    await sql`create trigger ${sql.raw(`${table}_append_only`)} before update or delete on ${sql.table(table)}
      for each row execute function velora_append_only()`.execute(db);
  }

  // Checked at commit: a journal transaction has at least two postings that sum to zero.
  await sql`
    create function velora_journal_balanced() returns trigger language plpgsql as $$
    declare
      total numeric;
      n integer;
    begin
      select coalesce(sum(amount), 0), count(*) into total, n from postings where transaction_id = new.transaction_id;
      if n < 2 or total <> 0 then
        raise exception 'journal transaction % is unbalanced (% postings, sum %)', new.transaction_id, n, total
          using errcode = '23514';
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create constraint trigger postings_balanced after insert on postings
      deferrable initially deferred for each row execute function velora_journal_balanced()`.execute(db);

  await sql`
    create table holds (
      id uuid primary key,
      wallet_id uuid not null references wallets (id),
      currency char(3) not null,
      amount bigint not null check (amount > 0),
      captured_amount bigint not null default 0,
      status text not null check (status in ('active', 'captured', 'released', 'expired')),
      transfer_id text not null,
      expires_at timestamptz not null,
      capture_transaction_id uuid references journal_transactions (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      constraint holds_captured_range check (captured_amount >= 0 and captured_amount <= amount),
      constraint holds_captured_only_when_captured check (status = 'captured' or captured_amount = 0)
    )`.execute(db);
  await sql`create index holds_active_expiry on holds (expires_at) where status = 'active'`.execute(db);
  await sql`create index holds_wallet on holds (wallet_id) where status = 'active'`.execute(db);

  await sql`
    create table idempotency_keys (
      scope text not null,
      key text not null,
      fingerprint text not null,
      status_code integer,
      response jsonb,
      created_at timestamptz not null default now(),
      primary key (scope, key)
    )`.execute(db);

  await sql`
    create table outbox (
      id bigint generated always as identity primary key,
      event_id text not null,
      collection text not null,
      document jsonb not null,
      created_at timestamptz not null default now(),
      relayed_at timestamptz,
      unique (collection, event_id)
    )`.execute(db);
  await sql`create index outbox_pending on outbox (id) where relayed_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'outbox',
    'idempotency_keys',
    'holds',
    'postings',
    'journal_transactions',
    'chain_head',
    'wallets',
  ]) {
    await sql`drop table if exists ${sql.table(table)} cascade`.execute(db);
  }
  await sql`drop function if exists velora_append_only cascade`.execute(db);
  await sql`drop function if exists velora_journal_balanced cascade`.execute(db);
}
