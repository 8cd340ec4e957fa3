import { sql, type Kysely } from 'kysely';

/**
 * Review of 0010 and 0031 (issue 9, item 4):
 *
 * - **One writer of the daily limit's counter.** The upsert into `daily_limit_debits` was written
 *   twice, in the transfer capture (0010) and in the withdrawal capture (0031); a change of the
 *   rule (slots, window) had to be made in both. Both captures now call
 *   `velora_count_daily_debit(wallet, amount)`, plpgsql so that its statement's plan is kept for
 *   the session like the callers' own. Reading the counter stays in the two reserves: it is one
 *   `sum` whose window is the one the counter's comment below states.
 * - **`postings_wallet_debits` dropped.** The partial index `(wallet_id, created_at) where
 *   amount < 0` (0002) served the daily limit's sum of a wallet's debits of the last 24 h. Since
 *   0010 (transfers) and 0031 (withdrawals) the reserves read the counter instead, and nothing
 *   else reads postings by wallet and time: reconciliation reads them by transaction, by `seq`
 *   and in whole-table sums, history reads MongoDB, the transfer's ledger state reads by
 *   transaction id. Every debit posting still paid for an entry in it.
 *
 * The two captures' signatures and answers are unchanged (docs/wallet.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // A wallet's 25 hourly slots, reused in turn (slot = hour % 25); a slot still holding an hour
  // 25 hours old starts afresh. The reserve counts the slots with hour > now's hour - 25.
  await sql`
    create function velora_count_daily_debit(p_wallet_id uuid, p_amount bigint) returns void
    language plpgsql as $$
    declare
      v_hour bigint := velora_epoch_hour(now());
    begin
      insert into daily_limit_debits as d (wallet_id, slot, hour, amount)
        values (p_wallet_id, (v_hour % 25)::smallint, v_hour, p_amount)
        on conflict (wallet_id, slot) do update
          set amount = case when d.hour = excluded.hour then d.amount + excluded.amount else excluded.amount end,
              hour = excluded.hour;
    end $$`.execute(db);

  await sql`drop index postings_wallet_debits`.execute(db);

  // 0010's body, the counter's upsert replaced by the call.
  await sql`
    create or replace function velora_capture_hold(
      p_scope text, p_key text, p_fingerprint text, p_hold_id uuid, p_to_wallet_id uuid,
      p_amount bigint, p_events jsonb)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      h holds;
      w wallets;
      src wallets;
      dst wallets;
      v_fingerprint text;
      v_amount bigint;
      v_tx uuid;
      v_at timestamptz;
      v_status integer;
      v_body jsonb;
    begin
      perform pg_advisory_xact_lock(7655, hashtext(p_scope || ' ' || p_key));
      select k.fingerprint, k.status_code, k.response into v_fingerprint, v_status, v_body
        from idempotency_keys k where k.scope = p_scope and k.key = p_key;
      if found then
        return query select v_status, v_body,
          case when v_fingerprint = p_fingerprint then 'replayed' else 'mismatch' end;
        return;
      end if;
      <<work>>
      begin
        select * into h from holds x where x.id = p_hold_id for update;
        if not found then
          v_status := 404; v_body := velora_refusal('hold_not_found'); exit work;
        end if;
        if h.status <> 'active' then
          v_status := 409; v_body := velora_refusal('hold_not_active'); exit work;
        end if;
        if h.expires_at <= now() then
          -- No longer promised: expire it now (kept with the stored refusal) rather than wait for the sweep.
          update wallets x set pending = x.pending - h.amount, updated_at = now() where x.id = h.wallet_id;
          update holds x set status = 'expired', updated_at = now() where x.id = h.id;
          v_status := 409; v_body := velora_refusal('hold_not_active'); exit work;
        end if;
        v_amount := coalesce(p_amount, h.amount);
        if v_amount > h.amount then
          v_status := 422; v_body := velora_refusal('capture_exceeds_hold'); exit work;
        end if;
        if p_to_wallet_id = h.wallet_id then
          v_status := 422; v_body := velora_refusal('same_wallet'); exit work;
        end if;
        -- Both wallets locked in id order (docs/wallet.md) and read by the same statement.
        for w in select * from wallets x where x.id in (h.wallet_id, p_to_wallet_id) order by x.id for update loop
          if w.id = h.wallet_id then src := w; else dst := w; end if;
        end loop;
        v_body := case
          when src.id is null or src.kind <> 'user' then velora_refusal('wallet_not_found')
          when src.status <> 'active' then velora_refusal('wallet_' || src.status)
          when src.currency <> h.currency then velora_refusal('currency_mismatch')
          when dst.id is null or dst.kind <> 'user' then velora_refusal('wallet_not_found')
          when dst.status <> 'active' then velora_refusal('wallet_' || dst.status)
          when dst.currency <> h.currency then velora_refusal('currency_mismatch')
        end;
        if v_body is not null then
          v_status := case v_body->>'code' when 'wallet_not_found' then 404 when 'currency_mismatch' then 422 else 409 end;
          exit work;
        end if;
        -- The journal transaction of velora_post_journal, for exactly these two legs: the whole
        -- hold leaves pending, the captured part moves; balances after come from the locked rows.
        v_tx := gen_random_uuid();
        v_at := date_trunc('milliseconds', now());
        update wallets x
          set posted = x.posted + case when x.id = src.id then -v_amount else v_amount end,
              pending = x.pending - case when x.id = src.id then h.amount else 0 end,
              updated_at = now()
          where x.id in (src.id, dst.id);
        insert into journal_transactions (id, kind, currency, reference, transfer_id, hold_id, reverses_id, created_at)
          values (v_tx, 'transfer', h.currency, 'hold:' || h.id, h.transfer_id, h.id, null, v_at);
        insert into journal_unsealed (transaction_id, created_at) values (v_tx, v_at);
        -- One outbox row: both history documents, then the records.
        with p as (
          insert into postings (id, transaction_id, position, wallet_id, currency, amount, balance_after, created_at)
          values (gen_random_uuid(), v_tx, 0, src.id, h.currency, -v_amount, src.posted - v_amount, v_at),
                 (gen_random_uuid(), v_tx, 1, dst.id, h.currency, v_amount, dst.posted + v_amount, v_at)
          returning postings as posting
        )
        insert into outbox (event_id, collection, document)
        select v_tx::text, 'bundle', jsonb_build_object('events',
          jsonb_agg(velora_history_event(p.posting,
            case when (p.posting).position = 0 then src.user_id else dst.user_id end,
            'transfer', h.transfer_id, 'hold:' || h.id, null) order by (p.posting).position)
          || coalesce(p_events, '[]'))
        from p;
        update holds x set status = 'captured', captured_amount = v_amount, capture_transaction_id = v_tx,
            updated_at = now()
          where x.id = h.id returning * into h;
        perform velora_count_daily_debit(src.id, v_amount);
        v_status := 200;
        v_body := jsonb_build_object('hold', velora_hold_json(h), 'transaction_id', v_tx);
      end work;
      insert into idempotency_keys (scope, key, fingerprint, status_code, response)
        values (p_scope, p_key, p_fingerprint, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

  // 0031's body, the counter's upsert replaced by the call.
  await sql`
    create or replace function velora_capture_withdrawal(
      p_scope text, p_key text, p_fingerprint text, p_withdrawal_id text, p_provider_reference text,
      p_events jsonb)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      c record;
      h holds;
      v_shard smallint;
      v_payouts uuid;
      v_tx uuid;
      v_status integer;
      v_body jsonb;
    begin
      select * into c from velora_idempotency_lookup(p_scope, p_key, p_fingerprint);
      if not c.claimed then
        return query select c.status_code, c.response, case when c.mismatch then 'mismatch' else 'replayed' end;
        return;
      end if;
      <<work>>
      begin
        select * into h from holds x where x.transfer_id = p_withdrawal_id and x.kind = 'transfer' for update;
        if not found then
          v_status := 404; v_body := velora_refusal('hold_not_found'); exit work;
        end if;
        if h.status = 'captured' then
          v_status := 409; v_body := velora_refusal('hold_already_captured'); exit work;
        end if;
        if h.status <> 'active' then
          v_status := 409; v_body := velora_refusal('hold_not_active'); exit work;
        end if;
        -- The shard of the wallet (wallets.table.ts systemShardOf): last 6 hex digits mod 16.
        v_shard := (('x' || right(replace(h.wallet_id::text, '-', ''), 6))::bit(24)::integer % 16)::smallint;
        perform 1 from wallets w where w.id = h.wallet_id for update;
        insert into wallets (id, kind, user_id, system_name, currency, shard)
          values (gen_random_uuid(), 'system', null, 'payouts', h.currency, v_shard)
          on conflict (system_name, currency, shard) where kind = 'system' do nothing;
        select w.id into v_payouts from wallets w
          where w.kind = 'system' and w.system_name = 'payouts' and w.currency = h.currency and w.shard = v_shard;
        v_tx := velora_post_journal('withdrawal', h.currency, left('payout:' || p_provider_reference, 200),
          h.transfer_id, h.id, null,
          jsonb_build_array(
            jsonb_build_object('wallet_id', h.wallet_id, 'amount', -h.amount, 'pending_delta', -h.amount),
            jsonb_build_object('wallet_id', v_payouts, 'amount', h.amount)));
        -- Counted for the daily limit like a transfer's capture.
        perform velora_count_daily_debit(h.wallet_id, h.amount);
        update holds x set status = 'captured', captured_amount = h.amount, capture_transaction_id = v_tx,
            updated_at = now()
          where x.id = h.id returning * into h;
        perform velora_enqueue(p_events);
        v_status := 200;
        v_body := jsonb_build_object('hold', velora_hold_json(h), 'transaction_id', v_tx);
      end work;
      perform velora_idempotency_record(p_scope, p_key, p_fingerprint, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);
}

export async function down(_db: Kysely<unknown>): Promise<void> {
  throw new Error(
    '0032 cannot be undone: restore from a backup instead (the captures of 0031 are equivalent)',
  );
}
