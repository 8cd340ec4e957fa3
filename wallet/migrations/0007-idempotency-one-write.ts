import { sql, type Kysely } from 'kysely';

/**
 * Issue 9, item 4: a transfer's idempotency record is ONE write instead of two.
 *
 * The transfer functions (0002, 0005) inserted the `(scope, key)` row first, so a concurrent
 * duplicate waited on it, and updated it with the answer at the end: two row versions (and,
 * when the page was full, two index entries) per call, four per reserve + capture pair. Now a
 * call first takes a transaction-scoped advisory lock on the key's hash, reads the row, and
 * inserts it complete (fingerprint, status, answer) after the work. A concurrent duplicate
 * waits on the lock until the first call commits or rolls back, then reads its committed answer
 * (READ COMMITTED: the read after the lock takes a new snapshot), so the promise is unchanged:
 * at most one execution per key, the same answer on every replay, nothing kept on rollback.
 * Two keys whose hashes collide only queue behind each other. A call of another route under the
 * same key, still uncommitted (those routes insert first, wallet/idempotency), makes the final
 * insert wait and then fail with a unique violation: the call rolls back, and its retry answers
 * `idempotency_key_mismatch` as before.
 *
 * The function bodies are those of 0005 (reserve, release) and 0002 (capture) with only the
 * idempotency calls changed; signatures and answers are unchanged (docs/wallet.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function velora_idempotency_lookup(
      p_scope text, p_key text, p_fingerprint text,
      out claimed boolean, out status_code integer, out response jsonb, out mismatch boolean)
    language plpgsql as $$
    begin
      -- 7655 is this lock's namespace (two-int4 advisory keys never meet the single-bigint ones
      -- of the migration and the sealer). Held until commit: a duplicate waits here.
      perform pg_advisory_xact_lock(7655, hashtext(p_scope || ' ' || p_key));
      select k.fingerprint <> p_fingerprint, k.status_code, k.response into mismatch, status_code, response
        from idempotency_keys k where k.scope = p_scope and k.key = p_key;
      claimed := not found;
      if claimed then
        mismatch := false;
      end if;
    end $$`.execute(db);

  // plpgsql, not sql: a SQL function that is not a plain SELECT is never inlined, so PostgreSQL
  // parsed and planned its body on every call; plpgsql keeps the plan for the session.
  await sql`
    create function velora_idempotency_record(
      p_scope text, p_key text, p_fingerprint text, p_status integer, p_response jsonb)
    returns void language plpgsql as $$
    begin
      insert into idempotency_keys (scope, key, fingerprint, status_code, response)
      values (p_scope, p_key, p_fingerprint, p_status, p_response);
    end $$`.execute(db);
  // The same for the outbox insert of 0002 (same signature, same statement).
  await sql`
    create or replace function velora_enqueue(p_events jsonb) returns void language plpgsql as $$
    begin
      insert into outbox (event_id, collection, document)
      select e->>'event_id', e->>'collection', e->'document' from jsonb_array_elements(coalesce(p_events, '[]')) e
      on conflict (collection, event_id) do nothing;
    end $$`.execute(db);

  await sql`
    create or replace function velora_reserve_transfer(
      p_scope text, p_key text, p_fingerprint text, p_transfer_id text, p_user_id uuid,
      p_from_wallet_id uuid, p_to_wallet_id uuid, p_amount bigint, p_currency text,
      p_per_transfer_limit bigint, p_daily_limit bigint, p_hold_ttl_seconds integer)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      c record;
      src wallets;
      dst wallets;
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
        select * into src from wallets w where w.id = p_from_wallet_id for update;
        if not found or src.kind <> 'user' then
          v_status := 404; v_body := velora_refusal('wallet_not_found'); exit work;
        end if;
        if src.user_id <> p_user_id or p_from_wallet_id = p_to_wallet_id then
          v_status := 403; v_body := velora_refusal('not_authorized'); exit work;
        end if;
        select * into dst from wallets w where w.id = p_to_wallet_id;
        if not found or dst.kind <> 'user' then
          v_status := 404; v_body := velora_refusal('wallet_not_found'); exit work;
        end if;
        if src.currency <> p_currency or dst.currency <> p_currency then
          v_status := 422; v_body := velora_refusal('currency_mismatch'); exit work;
        end if;
        if src.status <> 'active' or dst.status <> 'active' then
          v_status := 409;
          v_body := velora_refusal(case when src.status <> 'active' then 'wallet_' || src.status else 'wallet_' || dst.status end);
          exit work;
        end if;
        if p_amount > p_per_transfer_limit then
          v_status := 422; v_body := velora_refusal('limit_exceeded', '{"limit":"per_transfer"}'); exit work;
        end if;
        select coalesce((select sum(-p.amount) from postings p join journal_transactions t on t.id = p.transaction_id
                          where p.wallet_id = src.id and p.amount < 0 and t.kind = 'transfer'
                            and p.created_at >= now() - interval '24 hours'), 0)
             + coalesce((select sum(x.amount) from holds x where x.wallet_id = src.id and x.status = 'active'), 0)
          into v_used;
        if v_used + p_amount > p_daily_limit then
          v_status := 422; v_body := velora_refusal('limit_exceeded', '{"limit":"daily"}'); exit work;
        end if;
        -- Waits for a concurrent uncommitted reserve or release of this transfer, then sees its claim.
        insert into transfer_claims (transfer_id, state) values (p_transfer_id, 'reserved')
          on conflict (transfer_id) do nothing;
        if not found then
          select x.state into v_claim from transfer_claims x where x.transfer_id = p_transfer_id;
          v_status := 409;
          v_body := velora_refusal(case when v_claim = 'released' then 'transfer_released' else 'transfer_already_reserved' end);
          exit work;
        end if;
        update wallets w set pending = w.pending + p_amount, updated_at = now()
          where w.id = p_from_wallet_id and w.posted - w.pending + w.overdraft_limit >= p_amount;
        if not found then
          delete from transfer_claims x where x.transfer_id = p_transfer_id;
          v_status := 422; v_body := velora_refusal('insufficient_funds'); exit work;
        end if;
        insert into holds (id, wallet_id, currency, amount, status, transfer_id, expires_at, kind)
          values (gen_random_uuid(), p_from_wallet_id, p_currency, p_amount, 'active', p_transfer_id,
                  now() + make_interval(secs => p_hold_ttl_seconds), 'transfer')
          returning * into h;
        v_status := 201;
        v_body := jsonb_build_object('hold', velora_hold_json(h));
      end work;
      perform velora_idempotency_record(p_scope, p_key, p_fingerprint, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

  await sql`
    create or replace function velora_capture_hold(
      p_scope text, p_key text, p_fingerprint text, p_hold_id uuid, p_to_wallet_id uuid,
      p_amount bigint, p_events jsonb)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      c record;
      h holds;
      src wallets;
      dst wallets;
      v_amount bigint;
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
        select * into h from holds x where x.id = p_hold_id for update;
        if not found then
          v_status := 404; v_body := velora_refusal('hold_not_found'); exit work;
        end if;
        if h.status <> 'active' then
          v_status := 409; v_body := velora_refusal('hold_not_active'); exit work;
        end if;
        if h.expires_at <= now() then
          -- No longer promised: expire it now (kept with the stored refusal) rather than wait for the sweep.
          update wallets w set pending = w.pending - h.amount, updated_at = now() where w.id = h.wallet_id;
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
        perform 1 from wallets w where w.id in (h.wallet_id, p_to_wallet_id) order by w.id for update;
        select * into src from wallets w where w.id = h.wallet_id;
        select * into dst from wallets w where w.id = p_to_wallet_id;
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
        v_tx := velora_post_journal('transfer', h.currency, 'hold:' || h.id, h.transfer_id, h.id, null,
          jsonb_build_array(
            -- The whole hold leaves pending; only the captured part leaves posted.
            jsonb_build_object('wallet_id', h.wallet_id, 'amount', -v_amount, 'pending_delta', -h.amount),
            jsonb_build_object('wallet_id', p_to_wallet_id, 'amount', v_amount)));
        update holds x set status = 'captured', captured_amount = v_amount, capture_transaction_id = v_tx,
            updated_at = now()
          where x.id = h.id returning * into h;
        perform velora_enqueue(p_events);
        v_status := 200;
        v_body := jsonb_build_object('hold', velora_hold_json(h), 'transaction_id', v_tx);
      end work;
      perform velora_idempotency_record(p_scope, p_key, p_fingerprint, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

  await sql`
    create or replace function velora_release_transfer(
      p_scope text, p_key text, p_fingerprint text, p_transfer_id text, p_events jsonb)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      c record;
      h holds;
      v_status integer;
      v_body jsonb;
    begin
      select * into c from velora_idempotency_lookup(p_scope, p_key, p_fingerprint);
      if not c.claimed then
        return query select c.status_code, c.response, case when c.mismatch then 'mismatch' else 'replayed' end;
        return;
      end if;
      insert into transfer_claims (transfer_id, state) values (p_transfer_id, 'released')
        on conflict (transfer_id) do nothing;
      select * into h from holds x where x.transfer_id = p_transfer_id and x.kind = 'transfer' for update;
      if not found then
        v_status := 200; v_body := jsonb_build_object('released', false, 'hold', null);
      elsif h.status = 'captured' then
        v_status := 409; v_body := velora_refusal('hold_already_captured');
      elsif h.status <> 'active' then
        v_status := 200; v_body := jsonb_build_object('released', false, 'hold', velora_hold_json(h));
      else
        update wallets w set pending = w.pending - h.amount, updated_at = now() where w.id = h.wallet_id;
        update holds x set status = 'released', updated_at = now() where x.id = h.id returning * into h;
        v_status := 200; v_body := jsonb_build_object('released', true, 'hold', velora_hold_json(h));
      end if;
      if v_status = 200 then
        update transfer_claims x set state = 'released' where x.transfer_id = p_transfer_id and x.state <> 'released';
        perform velora_enqueue(p_events);
      end if;
      perform velora_idempotency_record(p_scope, p_key, p_fingerprint, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

  await sql`drop function velora_idempotency_claim(text, text, text)`.execute(db);
  await sql`drop function velora_idempotency_store(text, text, integer, jsonb)`.execute(db);
}

export async function down(_db: Kysely<unknown>): Promise<void> {
  throw new Error('0007 cannot be undone: restore from a backup instead');
}
