import { sql, type Kysely } from 'kysely';

/**
 * Issue 13, item 2: the domain events nothing in the outbox carried yet, queued by triggers in
 * the same transaction as their cause, so every path that creates a wallet or changes a hold
 * (reserve, capture, release, the expiry sweep, withdrawals, reversals) queues them without the
 * ledger's functions changing:
 *
 * - `wallet.created` for each user wallet inserted (system accounts are not announced);
 * - `hold.created` for each hold inserted, and `hold.captured|released|expired` for each change
 *   of a hold's status (a hold leaves `active` once, so each event is queued once).
 *
 * They go to `event_queue`, not to the outbox: MongoDB has nothing to receive from them, and a
 * row there costs the transfer one heap row and one index entry (its identity key), where an
 * outbox row costs four index entries (docs/events.md measures both). The queue holds only
 * events not yet confirmed by RabbitMQ: the publisher deletes a row once the broker confirmed it.
 * `source_id` is `<type>:<wallet or hold id>`, from which the publisher derives the event's id;
 * `document` is the event without its id (`{ type, occurred_at, data }`, amounts as strings).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table event_queue (
      id bigint generated always as identity primary key,
      source_id text not null,
      document jsonb not null,
      created_at timestamptz not null default now(),
      claimed_until timestamptz
    )`.execute(db);

  await sql`
    create function velora_hold_event() returns trigger language plpgsql as $$
    declare
      v_type text := 'hold.' || case new.status when 'active' then 'created' else new.status end;
    begin
      insert into event_queue (source_id, document)
      values (v_type || ':' || new.id, jsonb_build_object(
        'type', v_type,
        'occurred_at', velora_iso(now()),
        'data', jsonb_build_object(
          'hold_id', new.id, 'wallet_id', new.wallet_id, 'transfer_id', new.transfer_id,
          'kind', new.kind, 'currency', new.currency, 'amount', new.amount::text,
          'captured_amount', new.captured_amount::text, 'expires_at', velora_iso(new.expires_at),
          'capture_transaction_id', new.capture_transaction_id)));
      return null;
    end $$`.execute(db);
  await sql`
    create trigger holds_created_event after insert on holds
      for each row execute function velora_hold_event()`.execute(db);
  await sql`
    create trigger holds_status_event after update of status on holds
      for each row when (old.status is distinct from new.status) execute function velora_hold_event()`.execute(
    db,
  );

  await sql`
    create function velora_wallet_created_event() returns trigger language plpgsql as $$
    begin
      insert into event_queue (source_id, document)
      values ('wallet.created:' || new.id, jsonb_build_object(
        'type', 'wallet.created',
        'occurred_at', velora_iso(now()),
        'data', jsonb_build_object(
          'wallet_id', new.id, 'user_id', new.user_id, 'currency', new.currency, 'status', new.status)));
      return null;
    end $$`.execute(db);
  await sql`
    create trigger wallets_created_event after insert on wallets
      for each row when (new.kind = 'user') execute function velora_wallet_created_event()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists wallets_created_event on wallets`.execute(db);
  await sql`drop trigger if exists holds_status_event on holds`.execute(db);
  await sql`drop trigger if exists holds_created_event on holds`.execute(db);
  await sql`drop function if exists velora_wallet_created_event()`.execute(db);
  await sql`drop function if exists velora_hold_event()`.execute(db);
  await sql`drop table if exists event_queue`.execute(db);
}
