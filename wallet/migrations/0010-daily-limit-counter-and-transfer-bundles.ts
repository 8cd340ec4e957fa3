import { sql, type Kysely } from 'kysely';

/**
 * Issue 9, item 4: a reserve + capture pair with less work for PostgreSQL (docs/wallet.md has
 * the instruction counts before and after).
 *
 * - **Daily limit from a counter.** The reserve summed the wallet's captured `transfer` debits of
 *   the last 24 h (a join of postings and journal transactions whose cost grew with the wallet's
 *   traffic, ~30 % of a pair's instructions) plus its active holds (a second scan). Now each
 *   capture adds its amount to `daily_limit_debits`, one row per wallet and UTC hour (25 slots
 *   per wallet, reused in turn: `slot = hour % 25`, so the table never grows beyond 25 rows per
 *   wallet and needs no purge), and the reserve reads at most 25 rows plus the wallet's own
 *   `pending`, which is exactly its active holds. A captured debit counts from its capture to the
 *   end of the UTC hour 24 hours later (between 24 and 25 hours: never less than before). The
 *   counter is written under the source wallet's lock, which every reserve of that wallet also
 *   takes, so concurrent reserves still see each other. The last 25 hours of captures are
 *   backfilled.
 * - **Fewer statements.** The three transfer functions read and write the idempotency record
 *   themselves (no nested function call per step); the capture locks and reads both wallets with
 *   one statement, updates them with one, and posts its two-leg journal transaction itself (the
 *   generic `velora_post_journal`, still used by every other movement, parses legs from JSON and
 *   loops over them); the reserve checks funds from the row it locked.
 * - **One outbox row per transfer step.** The capture queued one row per history document (2)
 *   and one per record (auth log + each audit entry, typically 4); it now queues ONE row of
 *   collection `bundle` whose document is `{ "events": [{ event_id, collection, document }] }`,
 *   with `event_id` = the journal transaction id. A release queues one bundle of its records.
 *   The relay writes each event to its collection with `_id` = its event id, as before, so
 *   MongoDB holds the same documents. A record repeated by a later request (a re-run
 *   compensation under another key) is now a duplicate `_id` in MongoDB, ignored by the relay,
 *   instead of a skipped outbox insert.
 *
 * Signatures and answers of the three functions are unchanged (docs/wallet.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table daily_limit_debits (
      wallet_id uuid not null references wallets (id),
      slot smallint not null,
      hour bigint not null,
      amount bigint not null,
      primary key (wallet_id, slot)
    )`.execute(db);

  // The UTC hour number of a time (hours since 1970-01-01T00:00Z).
  await sql`
    create function velora_epoch_hour(t timestamptz) returns bigint language sql immutable as $$
      select floor(extract(epoch from t) / 3600)::bigint
    $$`.execute(db);

  await sql`
    insert into daily_limit_debits (wallet_id, slot, hour, amount)
    select p.wallet_id, (velora_epoch_hour(p.created_at) % 25)::smallint, velora_epoch_hour(p.created_at),
      sum(-p.amount)
    from postings p join journal_transactions t on t.id = p.transaction_id
    where p.amount < 0 and t.kind = 'transfer' and p.created_at >= now() - interval '26 hours'
      and velora_epoch_hour(p.created_at) > velora_epoch_hour(now()) - 25
    group by 1, 2, 3`.execute(db);

  // A history document of one posting as an outbox event (the fields of 0002's velora_post_journal).
  await sql`
    create function velora_history_event(p postings, p_user_id uuid, p_kind text, p_transfer_id text,
      p_reference text, p_reverses_id uuid) returns jsonb language sql stable as $$
      select jsonb_build_object('event_id', p.id, 'collection', 'transaction_history', 'document',
        jsonb_build_object(
          '_id', p.id, 'seq', p.seq, 'transaction_id', p.transaction_id, 'wallet_id', p.wallet_id,
          'user_id', p_user_id, 'currency', p.currency, 'amount', abs(p.amount)::text,
          'direction', case when p.amount < 0 then 'debit' else 'credit' end, 'kind', p_kind,
          'balance_after', p.balance_after::text, 'transfer_id', p_transfer_id, 'reference', p_reference,
          'reverses_transaction_id', p_reverses_id, 'created_at', velora_iso(p.created_at)))
    $$`.execute(db);

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
      v_status integer;
      v_body jsonb;
    begin
      -- The idempotency record as in 0007 (a duplicate waits on the key's lock, then replays).
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
        -- Held now (pending is the sum of the wallet's active holds) + captured in the current
        -- UTC hour and the 24 before it.
        select coalesce(sum(d.amount), 0) into v_used from daily_limit_debits d
          where d.wallet_id = src.id and d.hour > velora_epoch_hour(now()) - 25;
        if v_used + src.pending + p_amount > p_daily_limit then
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
        -- The locked row is current: no need to re-check funds in the update.
        if src.posted - src.pending + src.overdraft_limit < p_amount then
          delete from transfer_claims x where x.transfer_id = p_transfer_id;
          v_status := 422; v_body := velora_refusal('insufficient_funds'); exit work;
        end if;
        update wallets w set pending = w.pending + p_amount, updated_at = now() where w.id = src.id;
        insert into holds (id, wallet_id, currency, amount, status, transfer_id, expires_at, kind)
          values (gen_random_uuid(), src.id, p_currency, p_amount, 'active', p_transfer_id,
                  now() + make_interval(secs => p_hold_ttl_seconds), 'transfer')
          returning * into h;
        v_status := 201;
        v_body := jsonb_build_object('hold', velora_hold_json(h));
      end work;
      insert into idempotency_keys (scope, key, fingerprint, status_code, response)
        values (p_scope, p_key, p_fingerprint, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

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
      v_hour bigint;
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
        -- The daily limit's counter: this capture's hour slot of the source wallet.
        v_hour := velora_epoch_hour(now());
        insert into daily_limit_debits as d (wallet_id, slot, hour, amount)
          values (src.id, (v_hour % 25)::smallint, v_hour, v_amount)
          on conflict (wallet_id, slot) do update
            set amount = case when d.hour = excluded.hour then d.amount + excluded.amount else excluded.amount end,
                hour = excluded.hour;
        v_status := 200;
        v_body := jsonb_build_object('hold', velora_hold_json(h), 'transaction_id', v_tx);
      end work;
      insert into idempotency_keys (scope, key, fingerprint, status_code, response)
        values (p_scope, p_key, p_fingerprint, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

  await sql`
    create or replace function velora_release_transfer(
      p_scope text, p_key text, p_fingerprint text, p_transfer_id text, p_events jsonb)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      h holds;
      v_fingerprint text;
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
        if jsonb_array_length(coalesce(p_events, '[]')) > 0 then
          insert into outbox (event_id, collection, document)
            values (gen_random_uuid()::text, 'bundle', jsonb_build_object('events', p_events));
        end if;
      end if;
      insert into idempotency_keys (scope, key, fingerprint, status_code, response)
        values (p_scope, p_key, p_fingerprint, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);
}

export async function down(_db: Kysely<unknown>): Promise<void> {
  // The 0007 functions would count no capture made since (the counter), and the relay of this
  // version expects bundles: restore from a backup instead.
  throw new Error('0010 cannot be undone: restore from a backup instead');
}
