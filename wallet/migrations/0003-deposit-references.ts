import { sql, type Kysely } from 'kysely';

/**
 * Issue 10, item 7: a deposit is unique per (wallet, reference). The bank reference names one
 * incoming payment; two requests with the same reference (even under different idempotency keys)
 * must not credit twice. Deposits made before this migration are recorded too (the first one per
 * wallet and reference), so a repeat of an old deposit is also recognised.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table deposit_references (
      wallet_id uuid not null references wallets (id),
      reference text not null,
      transaction_id uuid not null unique references journal_transactions (id),
      amount bigint not null check (amount > 0),
      currency char(3) not null,
      created_at timestamptz not null default now(),
      primary key (wallet_id, reference)
    )`.execute(db);
  await sql`
    insert into deposit_references (wallet_id, reference, transaction_id, amount, currency, created_at)
    select distinct on (p.wallet_id, t.reference) p.wallet_id, t.reference, t.id, p.amount, t.currency, t.created_at
    from journal_transactions t
    join postings p on p.transaction_id = t.id and p.amount > 0
    join wallets w on w.id = p.wallet_id and w.kind = 'user'
    where t.kind = 'deposit' and t.reference is not null
    order by p.wallet_id, t.reference, t.created_at, t.id`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists deposit_references`.execute(db);
}
