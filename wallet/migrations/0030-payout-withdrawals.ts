import { sql, type Kysely } from 'kysely';

/**
 * Issue 12, item 1: withdrawals to an external payout rail. A withdrawal is held like a
 * transfer and, once the provider says the money left, captured into the `payouts` system
 * account of its currency (the books' record of what the rail owes nobody any more).
 *
 * Why not `velora_reserve_transfer` / `velora_capture_hold` with `payouts:<ccy>` as the
 * destination: both refuse any destination that is not a user wallet (`dst.kind <> 'user'`), on
 * purpose — a user must never pay a system account through the transfer route. So two new
 * functions, next to them, do what a withdrawal needs and nothing a transfer may do:
 *
 * - `velora_reserve_withdrawal`: the reserve's checks for the source side only (ownership,
 *   status, currency, per-transfer and rolling 24 h limits, funds), its claim in
 *   `transfer_claims` and a hold of kind `transfer` under the withdrawal id, so the existing
 *   `velora_release_transfer` releases it exactly like a transfer's (and an old release blocks a
 *   late reserve the same way). Withdrawals count toward the daily limit: captured withdrawals
 *   (journal kind `withdrawal`) are summed with captured transfers, and both kinds' active holds
 *   count.
 * - `velora_capture_withdrawal`: debits the held amount from the wallet and credits
 *   `payouts:<ccy>` (the shard of the wallet, as deposits use `funding`'s) in one journal
 *   transaction of kind `withdrawal`. Unlike a transfer's capture it does not refuse a hold past
 *   its `expires_at` or a wallet frozen since the reserve: it runs only after the provider
 *   reported the money paid out, so refusing would only make the books disagree with the rail.
 *   A hold that is no longer active (released, expired by the sweep) is refused
 *   `hold_not_active`: the workflow then parks in `needs_attention`.
 *
 * Both are one round trip with the idempotency record, like the transfer functions (0007).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // The domain of 0009 gains the payout rail's account.
  await sql`alter domain velora_system_name drop constraint velora_system_name_check`.execute(db);
  await sql`alter domain velora_system_name add constraint velora_system_name_check
    check (value in ('funding', 'settlement', 'fees', 'payouts'))`.execute(db);

  await sql`
    create function velora_reserve_withdrawal(
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
        select coalesce((select sum(-p.amount) from postings p join journal_transactions t on t.id = p.transaction_id
                          where p.wallet_id = src.id and p.amount < 0 and t.kind in ('transfer', 'withdrawal')
                            and p.created_at >= now() - interval '24 hours'), 0)
             + coalesce((select sum(x.amount) from holds x where x.wallet_id = src.id and x.status = 'active'), 0)
          into v_used;
        if v_used + p_amount > p_daily_limit then
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
    create function velora_capture_withdrawal(
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

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function velora_capture_withdrawal(text, text, text, text, text, jsonb)`.execute(db);
  await sql`drop function velora_reserve_withdrawal(text, text, text, text, uuid, uuid, bigint, text, bigint, bigint, integer)`.execute(
    db,
  );
  await sql`alter domain velora_system_name drop constraint velora_system_name_check`.execute(db);
  await sql`alter domain velora_system_name add constraint velora_system_name_check
    check (value in ('funding', 'settlement', 'fees'))`.execute(db);
}
