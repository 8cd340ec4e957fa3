import { sql, type Kysely } from 'kysely';

/**
 * Issue 9, item 4: less PostgreSQL work per reserve + capture pair, found with callgrind
 * (`bench/ledger/callgrind.ts`; docs/wallet.md has the figures). What is stored, checked and
 * answered does not change.
 *
 * - `velora_epoch_hour` is STABLE (was IMMUTABLE). Its body calls `extract(epoch from
 *   timestamptz)`, which PostgreSQL declares stable, and an immutable SQL function with a stable
 *   body is never inlined: each reserve and each capture ran it through the SQL-function
 *   executor, which parsed and planned its body afresh in every transaction (~90 k instructions
 *   a call). Stable, it is inlined into its callers' plans.
 * - The outbox keeps a row up to 8 kB uncompressed (`toast_tuple_target = 8160`). A capture's
 *   bundle (two history documents and the orchestrator's records, ~2.5 kB) passed the default
 *   2 kB target, so every capture ran pglz over it (5 % of a pair) to save disk on rows the
 *   relay marks within milliseconds and the retention purge deletes after 7 days.
 * - The capture locks and reads its two wallets with one statement (`array_agg` over a locking
 *   CTE) instead of a cursor loop (a portal opened and fetched per capture, ~160 k instructions),
 *   and both functions hand back their one row with RETURN NEXT instead of a RETURN QUERY
 *   statement. Locks are taken in the same order as before (hold, then wallets in id order).
 *
 * Tried and left out, no difference beyond the harness's noise (±15 k a pair): the capture's
 * writes as one statement of data-modifying CTEs (PostgreSQL's cost is per plan node, not per
 * statement), OUT parameters instead of `returns table`, dropping `holds_wallet`.
 *
 * Signatures and answers are unchanged (docs/wallet.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function velora_epoch_hour(t timestamptz) returns bigint language sql stable as $$
      select floor(extract(epoch from t) / 3600)::bigint
    $$`.execute(db);

  await sql`alter table outbox set (toast_tuple_target = 8160)`.execute(db);

  // 0010's reserve, its answer returned without a RETURN QUERY statement.
  await sql`
    create or replace function velora_reserve_transfer(
      p_scope text, p_key text, p_fingerprint text, p_transfer_id text, p_user_id uuid,
      p_from_wallet_id uuid, p_to_wallet_id uuid, p_amount bigint, p_currency text,
      p_per_transfer_limit bigint, p_daily_limit bigint, p_hold_ttl_seconds integer)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      src wallets;
      dst wallets;
      h holds;
      v_fingerprint text;
      v_used bigint;
      v_claim text;
    begin
      -- The idempotency record as in 0007 (a duplicate waits on the key's lock, then replays).
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
        select * into src from wallets w where w.id = p_from_wallet_id for update;
        if not found or src.kind <> 'user' then
          status_code := 404; response := velora_refusal('wallet_not_found'); exit work;
        end if;
        if src.user_id <> p_user_id or p_from_wallet_id = p_to_wallet_id then
          status_code := 403; response := velora_refusal('not_authorized'); exit work;
        end if;
        select * into dst from wallets w where w.id = p_to_wallet_id;
        if not found or dst.kind <> 'user' then
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
        -- Held now (pending is the sum of the wallet's active holds) + captured in the current
        -- UTC hour and the 24 before it. After the lock: a capture that committed while this
        -- reserve waited is counted.
        select coalesce(sum(d.amount), 0) into v_used from daily_limit_debits d
          where d.wallet_id = src.id and d.hour > velora_epoch_hour(now()) - 25;
        if v_used + src.pending + p_amount > p_daily_limit then
          status_code := 422; response := velora_refusal('limit_exceeded', '{"limit":"daily"}'); exit work;
        end if;
        -- Waits for a concurrent uncommitted reserve or release of this transfer, then sees its claim.
        insert into transfer_claims (transfer_id, state) values (p_transfer_id, 'reserved')
          on conflict (transfer_id) do nothing;
        if not found then
          select x.state into v_claim from transfer_claims x where x.transfer_id = p_transfer_id;
          status_code := 409;
          response := velora_refusal(case when v_claim = 'released' then 'transfer_released' else 'transfer_already_reserved' end);
          exit work;
        end if;
        -- The locked row is current: no need to re-check funds in the update.
        if src.posted - src.pending + src.overdraft_limit < p_amount then
          delete from transfer_claims x where x.transfer_id = p_transfer_id;
          status_code := 422; response := velora_refusal('insufficient_funds'); exit work;
        end if;
        update wallets w set pending = w.pending + p_amount, updated_at = now() where w.id = src.id;
        insert into holds (id, wallet_id, currency, amount, status, transfer_id, expires_at, kind)
          values (gen_random_uuid(), src.id, p_currency, p_amount, 'active', p_transfer_id,
                  now() + make_interval(secs => p_hold_ttl_seconds), 'transfer')
          returning * into h;
        status_code := 201;
        response := jsonb_build_object('hold', velora_hold_json(h));
      end work;
      insert into idempotency_keys (scope, key, fingerprint, status_code, response)
        values (p_scope, p_key, p_fingerprint, status_code, response);
      return next;
    end $$`.execute(db);

  // 0032's capture: its wallets locked without a cursor, its answer without RETURN QUERY.
  await sql`
    create or replace function velora_capture_hold(
      p_scope text, p_key text, p_fingerprint text, p_hold_id uuid, p_to_wallet_id uuid,
      p_amount bigint, p_events jsonb)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      h holds;
      pair wallets[];
      src wallets;
      dst wallets;
      v_fingerprint text;
      v_amount bigint;
      v_tx uuid;
      v_at timestamptz;
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
        select * into h from holds x where x.id = p_hold_id for update;
        if not found then
          status_code := 404; response := velora_refusal('hold_not_found'); exit work;
        end if;
        if h.status <> 'active' then
          status_code := 409; response := velora_refusal('hold_not_active'); exit work;
        end if;
        if h.expires_at <= now() then
          -- No longer promised: expire it now (kept with the stored refusal) rather than wait for the sweep.
          update wallets x set pending = x.pending - h.amount, updated_at = now() where x.id = h.wallet_id;
          update holds x set status = 'expired', updated_at = now() where x.id = h.id;
          status_code := 409; response := velora_refusal('hold_not_active'); exit work;
        end if;
        v_amount := coalesce(p_amount, h.amount);
        if v_amount > h.amount then
          status_code := 422; response := velora_refusal('capture_exceeds_hold'); exit work;
        end if;
        if p_to_wallet_id = h.wallet_id then
          status_code := 422; response := velora_refusal('same_wallet'); exit work;
        end if;
        -- Both wallets locked in id order (docs/wallet.md) and read by the same statement.
        with locked as (
          select x from wallets x where x.id in (h.wallet_id, p_to_wallet_id) order by x.id for update
        )
        select array_agg(locked.x) into pair from locked;
        src := case when pair[1].id = h.wallet_id then pair[1] when pair[2].id = h.wallet_id then pair[2] end;
        dst := case when pair[1].id = p_to_wallet_id then pair[1] when pair[2].id = p_to_wallet_id then pair[2] end;
        response := case
          when src.id is null or src.kind <> 'user' then velora_refusal('wallet_not_found')
          when src.status <> 'active' then velora_refusal('wallet_' || src.status)
          when src.currency <> h.currency then velora_refusal('currency_mismatch')
          when dst.id is null or dst.kind <> 'user' then velora_refusal('wallet_not_found')
          when dst.status <> 'active' then velora_refusal('wallet_' || dst.status)
          when dst.currency <> h.currency then velora_refusal('currency_mismatch')
        end;
        if response is not null then
          status_code := case response->>'code' when 'wallet_not_found' then 404 when 'currency_mismatch' then 422 else 409 end;
          exit work;
        end if;
        -- velora_post_journal's work for exactly these two legs, in one statement: the whole
        -- hold leaves pending, the captured part moves; balances after come from the locked
        -- rows. One outbox row: both history documents, then the records.
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
        status_code := 200;
        response := jsonb_build_object('hold', velora_hold_json(h), 'transaction_id', v_tx);
      end work;
      insert into idempotency_keys (scope, key, fingerprint, status_code, response)
        values (p_scope, p_key, p_fingerprint, status_code, response);
      return next;
    end $$`.execute(db);
}

export async function down(_db: Kysely<unknown>): Promise<void> {
  throw new Error('0033 cannot be undone: restore from a backup instead');
}
