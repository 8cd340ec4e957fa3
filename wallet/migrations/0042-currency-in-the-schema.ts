import { sql, type Kysely } from 'kysely';

/**
 * Issue 11, item 12: a posting's currency is its wallet's and its transaction's, by key rather
 * than by an after-the-fact check, and a journal transaction without postings cannot commit.
 *
 * - `postings (wallet_id, currency)` references `wallets (id, currency)` and
 *   `postings (transaction_id, currency)` references `journal_transactions (id, currency)`. The
 *   two single-column keys they imply are dropped, so a posting still pays for two foreign-key
 *   look-ups; the price is one more unique index entry per journal transaction (the key's
 *   target) and one per wallet.
 * - `journal_transactions_have_postings`: a deferred constraint trigger that refuses, at commit,
 *   a journal transaction with no posting. `postings_balanced` (0001) only fires for a
 *   transaction that has postings, so a bare row could commit before.
 *
 * Reconciliation keeps its `posting_currency` check (a row written with the keys disabled, or
 * restored from a damaged backup). Validating the keys reads every posting once: on a large
 * journal that outlives the 15 s statement timeout, so this migration raises it for itself.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`set local statement_timeout = '60min'`.execute(db);
  await sql`alter table wallets add constraint wallets_id_currency unique (id, currency)`.execute(db);
  await sql`alter table journal_transactions add constraint journal_transactions_id_currency unique (id, currency)`.execute(
    db,
  );
  await sql`
    alter table postings
      add constraint postings_wallet_currency foreign key (wallet_id, currency) references wallets (id, currency),
      add constraint postings_transaction_currency foreign key (transaction_id, currency)
        references journal_transactions (id, currency),
      drop constraint postings_wallet_id_fkey,
      drop constraint postings_transaction_id_fkey`.execute(db);

  await sql`
    create function velora_journal_has_postings() returns trigger language plpgsql as $$
    begin
      if not exists (select 1 from postings p where p.transaction_id = new.id) then
        raise exception 'journal transaction % has no postings', new.id
          using errcode = '23514', constraint = 'journal_transactions_have_postings', table = 'journal_transactions';
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create constraint trigger journal_transactions_have_postings after insert on journal_transactions
      deferrable initially deferred for each row execute function velora_journal_has_postings()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists journal_transactions_have_postings on journal_transactions`.execute(db);
  await sql`drop function if exists velora_journal_has_postings()`.execute(db);
  await sql`
    alter table postings
      add constraint postings_wallet_id_fkey foreign key (wallet_id) references wallets (id),
      add constraint postings_transaction_id_fkey foreign key (transaction_id) references journal_transactions (id),
      drop constraint postings_wallet_currency,
      drop constraint postings_transaction_currency`.execute(db);
  await sql`alter table journal_transactions drop constraint journal_transactions_id_currency`.execute(db);
  await sql`alter table wallets drop constraint wallets_id_currency`.execute(db);
}
