import { sql, type Kysely } from 'kysely';

/**
 * Withdrawals follow the daily limit's counter of 0010. Since 0010 the transfer reserve reads
 * `daily_limit_debits` (captured debits per wallet and UTC hour) plus the wallet's `pending`
 * instead of summing postings, and only a transfer's capture writes the counter: a captured
 * withdrawal (0030) stopped counting toward transfers' daily limit, and the withdrawal reserve
 * still summed postings. Now the withdrawal reserve reads the same counter and the withdrawal
 * capture adds to it, so transfers and withdrawals share one rolling daily limit again; the
 * withdrawals captured in the last 25 hours are added to the counter.
 *
 * Only the two functions of 0030 are replaced (same signatures and answers).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    insert into daily_limit_debits as d (wallet_id, slot, hour, amount)
    select p.wallet_id, (velora_epoch_hour(p.created_at) % 25)::smallint, velora_epoch_hour(p.created_at),
      sum(-p.amount)
    from postings p join journal_transactions t on t.id = p.transaction_id
    where p.amount < 0 and t.kind = 'withdrawal' and t.transfer_id is not null
      and p.created_at >= now() - interval '26 hours'
      and velora_epoch_hour(p.created_at) > velora_epoch_hour(now()) - 25
    group by 1, 2, 3
    on conflict (wallet_id, slot) do update
      set amount = case when d.hour = excluded.hour then d.amount + excluded.amount else excluded.amount end,
          hour = excluded.hour`.execute(db);

  await sql`
    create or replace function velora_reserve_withdrawal(
      p_scope text, p_key text, p_fingerprint text, p_withdrawal_id text, p_user_id uuid,
      p_wallet_id uuid, p_amount bigint, p_currency text,
      p_per_transfer_limit bigint, p_daily_limit bigint, p_hold_ttl_seconds integer)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      c record;
      src wallets;
      h holds;
      v_used bigint;
      v_claim text;
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
        select * into src from wallets w where w.id = p_wallet_id for update;
        if not found or src.kind <> 'user' then
          v_status := 404; v_body := velora_refusal('wallet_not_found'); exit work;
        end if;
        if src.user_id <> p_user_id then
          v_status := 403; v_body := velora_refusal('not_authorized'); exit work;
        end if;
        if src.currency <> p_currency then
          v_status := 422; v_body := velora_refusal('currency_mismatch'); exit work;
        end if;
        if src.status <> 'active' then
          v_status := 409; v_body := velora_refusal('wallet_' || src.status); exit work;
        end if;
        if p_amount > p_per_transfer_limit then
          v_status := 422; v_body := velora_refusal('limit_exceeded', '{"limit":"per_transfer"}'); exit work;
        end if;
        -- The transfer reserve's rule (0010): captured in the current UTC hour and the 24 before
        -- it (daily_limit_debits) + held now (pending).
        select coalesce(sum(d.amount), 0) into v_used from daily_limit_debits d
          where d.wallet_id = src.id and d.hour > velora_epoch_hour(now()) - 25;
        if v_used + src.pending + p_amount > p_daily_limit then
          v_status := 422; v_body := velora_refusal('limit_exceeded', '{"limit":"daily"}'); exit work;
        end if;
        insert into transfer_claims (transfer_id, state) values (p_withdrawal_id, 'reserved')
          on conflict (transfer_id) do nothing;
        if not found then
          select x.state into v_claim from transfer_claims x where x.transfer_id = p_withdrawal_id;
          v_status := 409;
          v_body := velora_refusal(case when v_claim = 'released' then 'transfer_released' else 'transfer_already_reserved' end);
          exit work;
        end if;
        update wallets w set pending = w.pending + p_amount, updated_at = now()
          where w.id = p_wallet_id and w.posted - w.pending + w.overdraft_limit >= p_amount;
        if not found then
          delete from transfer_claims x where x.transfer_id = p_withdrawal_id;
          v_status := 422; v_body := velora_refusal('insufficient_funds'); exit work;
        end if;
        insert into holds (id, wallet_id, currency, amount, status, transfer_id, expires_at, kind)
          values (gen_random_uuid(), p_wallet_id, p_currency, p_amount, 'active', p_withdrawal_id,
                  now() + make_interval(secs => p_hold_ttl_seconds), 'transfer')
          returning * into h;
        v_status := 201;
        v_body := jsonb_build_object('hold', velora_hold_json(h));
      end work;
      perform velora_idempotency_record(p_scope, p_key, p_fingerprint, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

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
      v_hour bigint;
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
        -- Counted for the daily limit like a transfer's capture (0010).
        v_hour := velora_epoch_hour(now());
        insert into daily_limit_debits as d (wallet_id, slot, hour, amount)
          values (h.wallet_id, (v_hour % 25)::smallint, v_hour, h.amount)
          on conflict (wallet_id, slot) do update
            set amount = case when d.hour = excluded.hour then d.amount + excluded.amount else excluded.amount end,
                hour = excluded.hour;
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
    '0031 cannot be undone: the withdrawal functions of 0030 no longer match the daily limit of 0010',
  );
}
