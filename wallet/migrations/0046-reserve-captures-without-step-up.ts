import { sql, type Kysely } from 'kysely';

/**
 * Issue 9, items 2 and 4: a transfer that needs no step-up made two wallet calls, two
 * PostgreSQL transactions and two commits (`velora_reserve_transfer`, then
 * `velora_capture_hold`). `velora_reserve_capture_transfer` does both in one transaction: the
 * reserve's checks exactly as 0033 makes them (ownership, wallet kinds and statuses, currency,
 * per-transfer limit, the rolling daily limit over captured volume and active holds, the
 * transfer claim, funds), then the capture's writes exactly as 0033's capture makes them (one
 * journal transaction of two postings, one outbox bundle of both history documents and the
 * orchestrator's records, the daily-limit counter), on a hold inserted `active` and marked
 * `captured` at once, so the hold table, the hold events, a later release
 * (`hold_already_captured`) and the transfer's ledger state read as after a two-call transfer.
 *
 * Differences from running the two functions, both cheaper and neither visible in the books:
 * - both wallets are locked at the start, in id order like every capture (the reserve alone
 *   locked the source only and the capture both: a reserve-then-capture in one transaction
 *   would take them out of order and deadlock against a capture of the opposite direction);
 * - the source's `pending` is not raised and lowered again: the hold is never outstanding
 *   outside this transaction, so `posted` moves directly (the funds check is the reserve's).
 *
 * Idempotency: the answer is stored under the reserve's key (a retried call replays
 * `captured: true`) AND under the capture's key `p_capture_key` with the capture's own answer,
 * fingerprinted with `p_capture_fingerprint` (wallet/transfers/captured-at-reserve.ts), so a
 * capture call sent later for this hold replays the same success instead of refusing it as
 * `hold_not_active`. A refusal is stored under the reserve's key only, as the reserve's.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function velora_reserve_capture_transfer(
      p_scope text, p_key text, p_fingerprint text, p_capture_key text, p_capture_fingerprint text,
      p_transfer_id text, p_user_id uuid, p_from_wallet_id uuid, p_to_wallet_id uuid, p_amount bigint,
      p_currency text, p_per_transfer_limit bigint, p_daily_limit bigint, p_hold_ttl_seconds integer,
      p_events jsonb)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      pair wallets[];
      src wallets;
      dst wallets;
      h holds;
      v_fingerprint text;
      v_used bigint;
      v_claim text;
      v_tx uuid;
      v_at timestamptz;
      v_capture jsonb;
    begin
      perform pg_advisory_xact_lock(7655, hashtext(p_scope || ' ' || p_key));
      select k.fingerprint, k.status_code, k.response into v_fingerprint, status_code, response
        from idempotency_keys k where k.scope = p_scope and k.key = p_key;
      if found then
        outcome := case when v_fingerprint = p_fingerprint then 'replayed' else 'mismatch' end;
        return next;
        return;
      end if;
      outcome := 'new';
      <<work>>
      begin
        -- Both wallets locked in id order (docs/wallet.md), as a capture locks them.
        with locked as (
          select x from wallets x where x.id in (p_from_wallet_id, p_to_wallet_id) order by x.id for update
        )
        select array_agg(locked.x) into pair from locked;
        src := case when pair[1].id = p_from_wallet_id then pair[1] when pair[2].id = p_from_wallet_id then pair[2] end;
        dst := case when pair[1].id = p_to_wallet_id then pair[1] when pair[2].id = p_to_wallet_id then pair[2] end;
        -- The reserve's checks, in the reserve's order.
        if src.id is null or src.kind <> 'user' then
          status_code := 404; response := velora_refusal('wallet_not_found'); exit work;
        end if;
        if src.user_id <> p_user_id or p_from_wallet_id = p_to_wallet_id then
          status_code := 403; response := velora_refusal('not_authorized'); exit work;
        end if;
        if dst.id is null or dst.kind <> 'user' then
          status_code := 404; response := velora_refusal('wallet_not_found'); exit work;
        end if;
        if src.currency <> p_currency or dst.currency <> p_currency then
          status_code := 422; response := velora_refusal('currency_mismatch'); exit work;
        end if;
        if src.status <> 'active' or dst.status <> 'active' then
          status_code := 409;
          response := velora_refusal(case when src.status <> 'active' then 'wallet_' || src.status else 'wallet_' || dst.status end);
          exit work;
        end if;
        if p_amount > p_per_transfer_limit then
          status_code := 422; response := velora_refusal('limit_exceeded', '{"limit":"per_transfer"}'); exit work;
        end if;
        -- Held now + captured in the current UTC hour and the 24 before it, under the lock.
        select coalesce(sum(d.amount), 0) into v_used from daily_limit_debits d
          where d.wallet_id = src.id and d.hour > velora_epoch_hour(now()) - 25;
        if v_used + src.pending + p_amount > p_daily_limit then
          status_code := 422; response := velora_refusal('limit_exceeded', '{"limit":"daily"}'); exit work;
        end if;
        insert into transfer_claims (transfer_id, state) values (p_transfer_id, 'reserved')
          on conflict (transfer_id) do nothing;
        if not found then
          select x.state into v_claim from transfer_claims x where x.transfer_id = p_transfer_id;
          status_code := 409;
          response := velora_refusal(case when v_claim = 'released' then 'transfer_released' else 'transfer_already_reserved' end);
          exit work;
        end if;
        if src.posted - src.pending + src.overdraft_limit < p_amount then
          delete from transfer_claims x where x.transfer_id = p_transfer_id;
          status_code := 422; response := velora_refusal('insufficient_funds'); exit work;
        end if;
        -- The hold as the reserve places it (its creation event included), captured below.
        insert into holds (id, wallet_id, currency, amount, status, transfer_id, expires_at, kind)
          values (gen_random_uuid(), src.id, p_currency, p_amount, 'active', p_transfer_id,
                  now() + make_interval(secs => p_hold_ttl_seconds), 'transfer')
          returning * into h;
        -- The capture's writes as velora_capture_hold (0033) makes them for the whole hold.
        v_tx := gen_random_uuid();
        v_at := date_trunc('milliseconds', now());
        update wallets x
          set posted = x.posted + case when x.id = src.id then -p_amount else p_amount end,
              updated_at = now()
          where x.id in (src.id, dst.id);
        insert into journal_transactions (id, kind, currency, reference, transfer_id, hold_id, reverses_id, created_at)
          values (v_tx, 'transfer', h.currency, 'hold:' || h.id, h.transfer_id, h.id, null, v_at);
        insert into journal_unsealed (transaction_id, created_at) values (v_tx, v_at);
        with p as (
          insert into postings (id, transaction_id, position, wallet_id, currency, amount, balance_after, created_at)
          values (gen_random_uuid(), v_tx, 0, src.id, h.currency, -p_amount, src.posted - p_amount, v_at),
                 (gen_random_uuid(), v_tx, 1, dst.id, h.currency, p_amount, dst.posted + p_amount, v_at)
          returning postings as posting
        )
        insert into outbox (event_id, collection, document)
        select v_tx::text, 'bundle', jsonb_build_object('events',
          jsonb_agg(velora_history_event(p.posting,
            case when (p.posting).position = 0 then src.user_id else dst.user_id end,
            'transfer', h.transfer_id, 'hold:' || h.id, null) order by (p.posting).position)
          || coalesce(p_events, '[]'))
        from p;
        update holds x set status = 'captured', captured_amount = p_amount, capture_transaction_id = v_tx,
            updated_at = now()
          where x.id = h.id returning * into h;
        perform velora_count_daily_debit(src.id, p_amount);
        -- The capture's own answer, stored under its key: a capture sent later replays it.
        v_capture := jsonb_build_object('hold', velora_hold_json(h), 'transaction_id', v_tx);
        insert into idempotency_keys (scope, key, fingerprint, status_code, response)
          values (p_scope, p_capture_key, p_capture_fingerprint, 200, v_capture)
          on conflict do nothing;
        status_code := 201;
        response := v_capture || '{"captured":true}';
      end work;
      insert into idempotency_keys (scope, key, fingerprint, status_code, response)
        values (p_scope, p_key, p_fingerprint, status_code, response);
      return next;
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function velora_reserve_capture_transfer`.execute(db);
}
