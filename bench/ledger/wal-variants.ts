/**
 * Schema variants for bench/ledger/wal.ts and callgrind.ts (`--sql`): SQL run on a scratch
 * wallet database after every migration, each undoing one suspect of the ledger's regression
 * against pgbench (docs/benchmarks.md, "Ledger"), so its cost is measured by difference.
 */
/** Suspects of the 0.46x → 0.32x regression, each undone on its own (SQL run after head). */
export const VARIANTS: Record<string, string> = {
  head: '',
  // 0042: the composite currency keys back to single-column keys (the unique targets dropped).
  'fk-single': `
    alter table postings drop constraint postings_wallet_currency, drop constraint postings_transaction_currency,
      add constraint postings_wallet_id_fkey foreign key (wallet_id) references wallets (id),
      add constraint postings_transaction_id_fkey foreign key (transaction_id) references journal_transactions (id);
    alter table wallets drop constraint wallets_id_currency;
    alter table journal_transactions drop constraint journal_transactions_id_currency;`,
  // 0042: no key from postings to wallets at all (what a key on the wallet row costs).
  'no-posting-wallet-fk': `alter table postings drop constraint postings_wallet_currency;`,
  // 0042: the deferred has-postings check.
  'no-has-postings': `drop trigger journal_transactions_have_postings on journal_transactions;`,
  // 0039: the hold event triggers (event_queue rows).
  'no-hold-events': `drop trigger holds_created_event on holds; drop trigger holds_status_event on holds;`,
  // 0033: the outbox's default toast target (bundles compressed again).
  'outbox-toast-default': `alter table outbox reset (toast_tuple_target);`,
  // 0038: the publisher's partial index on unpublished outbox rows.
  'no-outbox-unpublished': `drop index outbox_unpublished;`,
};
// Every suspect undone at once: about the schema of the 0.46x run.
VARIANTS['all-reverted'] = [
  'fk-single',
  'no-has-postings',
  'no-hold-events',
  'outbox-toast-default',
  'no-outbox-unpublished',
]
  .map((name) => VARIANTS[name])
  .join('\n');
