import { sql, type Kysely } from 'kysely';

/**
 * A transfer's reserve and its release are ordered by one row per transfer id.
 *
 * The orchestrator's reserve can time out while WalletService is still committing it; the saga
 * then releases by transfer id, found no hold (not committed yet) and answered `released: false`,
 * and the late reserve committed a hold nobody would release (the funds stayed locked until it
 * expired). A reserve that arrived after the release (a retry under another key) placed one too.
 *
 * Now both take a claim on `transfer_claims (transfer_id)`: the reserve inserts `reserved` before
 * it debits, the release inserts `released` before it looks for the hold, both with `on conflict
 * do nothing`. An insert on a primary key waits for a concurrent uncommitted insert of the same
 * key, so whichever comes second sees the first one's outcome: a release after a reserve finds
 * and releases its hold; a reserve after a release is refused `transfer_released` (409). The
 * function signatures and answers are otherwise unchanged (docs/wallet.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table transfer_claims (
      transfer_id text primary key,
      state text not null check (state in ('reserved', 'released')),
      created_at timestamptz not null default now()
    )`.execute(db);
  // Every transfer that already has its hold is claimed, so a later reserve is still refused.
  await sql`
    insert into transfer_claims (transfer_id, state, created_at)
    select transfer_id, case when status = 'released' then 'released' else 'reserved' end, created_at
    from holds where kind = 'transfer'`.execute(db);

  /*
   * As in 0002, except the transfer's claim replaces the look-up of an existing transfer hold:
   * taken after the checks (a refused reserve claims nothing) and before the debit; given back
   * when the debit finds too little money, so that transfer may still reserve later.
   */
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
      perform velora_idempotency_store(p_scope, p_key, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);

  /*
   * As in 0002, after first claiming the transfer as released: when a reserve of it is still
   * committing, this waits for it and then finds (and releases) its hold; no reserve of this
   * transfer places a hold afterwards. A 200 answer leaves the claim `released`; a captured hold
   * (409) leaves it as it was.
   */
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
      select * into c from velora_idempotency_claim(p_scope, p_key, p_fingerprint);
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
      perform velora_idempotency_store(p_scope, p_key, v_status, v_body);
      return query select v_status, v_body, 'new'::text;
    end $$`.execute(db);
}

export async function down(_db: Kysely<unknown>): Promise<void> {
  // Restoring the 0002 functions would reopen the lost-hold race; restore from a backup instead.
  throw new Error('0005 cannot be undone without reopening the reserve/release race');
}
