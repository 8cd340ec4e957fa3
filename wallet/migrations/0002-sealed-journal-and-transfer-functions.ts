import { sql, type Kysely } from 'kysely';

/**
 * Issue 9 (throughput), items 2 and 4:
 *
 * - The hash chain moves off the commit path. Journal transactions are inserted without a
 *   sequence number or hash (no global lock); a sealer assigns both afterwards in batches and
 *   writes them to the append-only `journal_seals` table. `journal_unsealed` is the sealer's
 *   queue. The chain already built (`seq`, `prev_hash`, `hash` of journal_transactions and the
 *   `chain_head` row) is moved into `journal_seals` unchanged, so old hashes still verify.
 * - Every ledger operation of a transfer is one round trip: server-side functions post a
 *   journal transaction (`velora_post_journal`), and reserve / capture / release a transfer's
 *   hold together with its idempotency record and its outbox rows (`velora_reserve_transfer`,
 *   `velora_capture_hold`, `velora_release_transfer`). Signatures: docs/wallet.md.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table journal_seals (
      seq bigint primary key check (seq > 0),
      transaction_id uuid not null unique references journal_transactions (id),
      prev_hash text not null,
      hash text not null unique,
      sealed_at timestamptz not null default now()
    )`.execute(db);
  await sql`create trigger journal_seals_append_only before update or delete on journal_seals
    for each row execute function velora_append_only()`.execute(db);
  await sql`
    insert into journal_seals (seq, transaction_id, prev_hash, hash, sealed_at)
    select seq, id, prev_hash, hash, created_at from journal_transactions`.execute(db);
  await sql`alter table journal_transactions drop column seq, drop column prev_hash, drop column hash`.execute(
    db,
  );
  await sql`drop table chain_head`.execute(db);
  await sql`
    create table journal_unsealed (
      transaction_id uuid primary key references journal_transactions (id),
      created_at timestamptz not null
    )`.execute(db);
  await sql`create index journal_unsealed_order on journal_unsealed (created_at, transaction_id)`.execute(db);

  // A hold placed by the reserve of a transfer is unique per transfer (release finds it by the
  // transfer id); holds placed through POST /internal/holds keep their free-form transfer_id.
  await sql`alter table holds add column kind text not null default 'hold' check (kind in ('hold', 'transfer'))`.execute(
    db,
  );
  await sql`create unique index holds_transfer on holds (transfer_id) where kind = 'transfer'`.execute(db);
  // The rolling daily limit reads the wallet's captured transfer debits of the last 24 hours.
  await sql`create index postings_wallet_debits on postings (wallet_id, created_at) where amount < 0`.execute(
    db,
  );

  await sql`
    create function velora_iso(t timestamptz) returns text language sql stable as $$
      select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    $$`.execute(db);

  await sql`
    create function velora_hold_json(h holds) returns jsonb language sql stable as $$
      select jsonb_build_object(
        'id', h.id, 'wallet_id', h.wallet_id, 'amount', h.amount::text,
        'captured_amount', h.captured_amount::text, 'currency', h.currency, 'status', h.status,
        'transfer_id', h.transfer_id, 'expires_at', velora_iso(h.expires_at),
        'capture_transaction_id', h.capture_transaction_id, 'created_at', velora_iso(h.created_at))
    $$`.execute(db);

  // A refusal as stored under an idempotency key: the code (and extensions); the service renders
  // the problem+json from the code, so a replay renders exactly like the first answer.
  await sql`
    create function velora_refusal(code text, extensions jsonb default '{}') returns jsonb
    language sql immutable as $$ select jsonb_build_object('code', code) || extensions $$`.execute(db);

  await sql`
    create function velora_idempotency_claim(
      p_scope text, p_key text, p_fingerprint text,
      out claimed boolean, out status_code integer, out response jsonb, out mismatch boolean)
    language plpgsql as $$
    begin
      -- Waits for a concurrent uncommitted claim of the same key, then sees its stored answer.
      insert into idempotency_keys (scope, key, fingerprint) values (p_scope, p_key, p_fingerprint)
        on conflict (scope, key) do nothing;
      if found then
        claimed := true;
        mismatch := false;
        return;
      end if;
      claimed := false;
      select k.fingerprint <> p_fingerprint, k.status_code, k.response into mismatch, status_code, response
        from idempotency_keys k where k.scope = p_scope and k.key = p_key;
    end $$`.execute(db);

  await sql`
    create function velora_idempotency_store(p_scope text, p_key text, p_status integer, p_response jsonb)
    returns void language sql as $$
      update idempotency_keys set status_code = p_status, response = p_response where scope = p_scope and key = p_key
    $$`.execute(db);

  // Queues MongoDB documents; (collection, event_id) is unique, so a document whose id derives
  // from the transfer and step is queued once however many requests carry it.
  await sql`
    create function velora_enqueue(p_events jsonb) returns void language sql as $$
      insert into outbox (event_id, collection, document)
      select e->>'event_id', e->>'collection', e->'document' from jsonb_array_elements(coalesce(p_events, '[]')) e
      on conflict (collection, event_id) do nothing
    $$`.execute(db);

  /*
   * Appends one balanced journal transaction: applies the balance deltas (user wallets first,
   * then system accounts, each in id order — the lock order of docs/wallet.md), inserts the
   * postings with their running balance, queues it for the sealer and queues one history
   * document per user-wallet posting. Legs: [{ wallet_id, amount, pending_delta? }] by position.
   */
  await sql`
    create function velora_post_journal(
      p_kind text, p_currency text, p_reference text, p_transfer_id text, p_hold_id uuid,
      p_reverses_id uuid, p_legs jsonb) returns uuid
    language plpgsql as $$
    declare
      v_tx uuid := gen_random_uuid();
      v_at timestamptz := date_trunc('milliseconds', now());
      v_n integer;
      v_sum numeric;
      v_final jsonb := '{}';
      r record;
      v_posted bigint;
    begin
      select count(*), coalesce(sum((l->>'amount')::bigint), 0) into v_n, v_sum from jsonb_array_elements(p_legs) l;
      if v_n < 2 or v_sum <> 0 then
        raise exception 'unbalanced journal transaction (% legs, sum %)', v_n, v_sum using errcode = '23514';
      end if;
      for r in
        select (l->>'wallet_id')::uuid as wallet_id, sum((l->>'amount')::bigint) as posted_delta,
          sum(coalesce((l->>'pending_delta')::bigint, 0)) as pending_delta, min(w.kind) as kind
        from jsonb_array_elements(p_legs) l join wallets w on w.id = (l->>'wallet_id')::uuid
        group by 1 order by min(w.kind) = 'system', 1
      loop
        update wallets set posted = posted + r.posted_delta, pending = pending + r.pending_delta, updated_at = now()
          where id = r.wallet_id returning posted into v_posted;
        v_final := v_final || jsonb_build_object(r.wallet_id::text, v_posted::text);
      end loop;
      insert into journal_transactions (id, kind, currency, reference, transfer_id, hold_id, reverses_id, created_at)
        values (v_tx, p_kind, p_currency, p_reference, p_transfer_id, p_hold_id, p_reverses_id, v_at);
      insert into journal_unsealed (transaction_id, created_at) values (v_tx, v_at);
      with legs as (
        select (l->>'wallet_id')::uuid as wallet_id, (l->>'amount')::bigint as amount, (ord - 1)::smallint as position
        from jsonb_array_elements(p_legs) with ordinality as x(l, ord)
      ), inserted as (
        insert into postings (id, transaction_id, position, wallet_id, currency, amount, balance_after, created_at)
        select gen_random_uuid(), v_tx, position, wallet_id, p_currency, amount,
          (v_final->>wallet_id::text)::bigint - coalesce(sum(amount) over (
            partition by wallet_id order by position rows between 1 following and unbounded following), 0),
          v_at
        from legs order by position
        returning *
      )
      insert into outbox (event_id, collection, document)
      select p.id::text, 'transaction_history', jsonb_build_object(
          '_id', p.id, 'seq', p.seq, 'transaction_id', v_tx, 'wallet_id', p.wallet_id, 'user_id', w.user_id,
          'currency', w.currency, 'amount', abs(p.amount)::text,
          'direction', case when p.amount < 0 then 'debit' else 'credit' end, 'kind', p_kind,
          'balance_after', p.balance_after::text, 'transfer_id', p_transfer_id, 'reference', p_reference,
          'reverses_transaction_id', p_reverses_id, 'created_at', velora_iso(v_at))
      from inserted p join wallets w on w.id = p.wallet_id and w.kind = 'user'
      order by p.position;
      return v_tx;
    end $$`.execute(db);

  /*
   * Authorize + reserve (docs/wallet.md): every check and the hold under the source wallet's
   * lock, with the idempotency record, in one call. The source wallet's lock also serializes the
   * daily limit: a user has one wallet per currency, so two reserves of the same user and
   * currency never count each other's hold as absent.
   */
  await sql`
    create function velora_reserve_transfer(
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
      v_status integer;
      v_body jsonb;
    begin
      select * into c from velora_idempotency_claim(p_scope, p_key, p_fingerprint);
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
        if exists (select 1 from holds x where x.transfer_id = p_transfer_id and x.kind = 'transfer') then
          v_status := 409; v_body := velora_refusal('transfer_already_reserved'); exit work;
        end if;
        update wallets w set pending = w.pending + p_amount, updated_at = now()
          where w.id = p_from_wallet_id and w.posted - w.pending + w.overdraft_limit >= p_amount;
        if not found then
          v_status := 422; v_body := velora_refusal('insufficient_funds'); exit work;
        end if;
        insert into holds (id, wallet_id, currency, amount, status, transfer_id, expires_at, kind)
          values (gen_random_uuid(), p_from_wallet_id, p_currency, p_amount, 'active', p_transfer_id,
                  now() + make_interval(secs => p_hold_ttl_seconds), 'transfer')
          returning * into h;
        v_status := 201;
        v_body := jsonb_build_object('hold', velora_hold_json(h));
      end work;
      perform velora_idempotency_store(p_scope, p_key, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

  /*
   * Capture + record: moves `p_amount` (null: all) of the hold to the destination as a
   * `transfer` journal transaction, the rest returns to available; on success also queues
   * `p_events` (auth log, audit trace). Lock order: the hold, then both wallets in id order.
   */
  await sql`
    create function velora_capture_hold(
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
      select * into c from velora_idempotency_claim(p_scope, p_key, p_fingerprint);
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
      perform velora_idempotency_store(p_scope, p_key, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

  /*
   * Release by transfer + record: voids the transfer's active hold if there is one and queues
   * `p_events` whenever the answer is 200 (also when there was nothing to release).
   */
  await sql`
    create function velora_release_transfer(
      p_scope text, p_key text, p_fingerprint text, p_transfer_id text, p_events jsonb)
    returns table (status_code integer, response jsonb, outcome text)
    language plpgsql as $$
    declare
      c record;
      h holds;
      v_status integer;
      v_body jsonb;
    begin
      select * into c from velora_idempotency_claim(p_scope, p_key, p_fingerprint);
      if not c.claimed then
        return query select c.status_code, c.response, case when c.mismatch then 'mismatch' else 'replayed' end;
        return;
      end if;
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
        perform velora_enqueue(p_events);
      end if;
      perform velora_idempotency_store(p_scope, p_key, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const fn of [
    'velora_release_transfer',
    'velora_capture_hold',
    'velora_reserve_transfer',
    'velora_post_journal',
    'velora_enqueue',
    'velora_idempotency_store',
    'velora_idempotency_claim',
    'velora_refusal',
    'velora_hold_json',
    'velora_iso',
  ]) {
    await sql`drop function if exists ${sql.raw(fn)} cascade`.execute(db);
  }
  throw new Error('0002 cannot be undone without losing the seals; restore from a backup instead');
}
