/* eslint-disable @typescript-eslint/no-unsafe-return -- response bodies are untyped JSON in tests */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_TRACE, AUTH_LOG } from '../history/history.collections.js';
import type { Database } from '../database.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

const LIMITS = { per_transfer: '500000', daily: '1000000' };

interface Party {
  wallet: string;
  user: string;
}

async function party(currency = 'USD', funded = 0n): Promise<Party> {
  const wallet = await h.wallet(currency, funded);
  const res = await h.call('GET', `/internal/wallets/${wallet}`);
  return { wallet, user: String(res.body.user_id) };
}

function reserve(
  transferId: string,
  from: Party,
  to: Party,
  amount: string,
  extra: Record<string, unknown> = {},
  key = randomUUID(),
) {
  return h.call('POST', `/internal/transfers/${transferId}/reserve`, {
    body: {
      user_id: from.user,
      from_wallet_id: from.wallet,
      to_wallet_id: to.wallet,
      amount,
      currency: 'USD',
      limits: LIMITS,
      hold_ttl_seconds: 3600,
      ...extra,
    },
    key,
  });
}

function records(transferId: string, outcome: 'completed' | 'failed' | 'cancelled', attempt = 1) {
  return {
    auth_log: {
      transfer_id: transferId,
      workflow_id: `transfer-${transferId}`,
      user_id: randomUUID(),
      client_id: 'velora-web',
      token_jti: randomUUID(),
      ip: '203.0.113.7',
      user_agent: 'test',
      step_up: false,
      outcome,
      ...(outcome === 'failed' ? { failure_code: 'wallet_frozen' } : {}),
    },
    audit: [
      { step: 'reserve', status: 'completed', attempt, duration_ms: 3 },
      { step: 'capture', status: outcome, attempt, duration_ms: 4 },
    ],
  };
}

const capture = (holdId: string, body: Record<string, unknown>, key = randomUUID()) =>
  h.call('POST', `/internal/holds/${holdId}/capture`, { body, key });
const release = (transferId: string, body?: Record<string, unknown>, key = randomUUID()) =>
  h.call('POST', `/internal/transfers/${transferId}/release`, { body, key });

async function mongoRecords(transferId: string) {
  await h.relay.drainAll();
  const authLogs = await h.mongo
    .collection<{ _id: string }>(AUTH_LOG)
    .find({ transfer_id: transferId })
    .toArray();
  const audit = await h.mongo
    .collection<{ _id: string }>(AUDIT_TRACE)
    .find({ transfer_id: transferId })
    .toArray();
  return { authLogs, audit };
}

describe('reserve: authorize and reserve in one call', () => {
  it('places a transfer hold, then capture moves it and records the auth log and audit trace once', async () => {
    const a = await party('USD', 1000n);
    const b = await party();
    const t = randomUUID();
    const res = await reserve(t, a, b, '400');
    expect(res.status).toBe(201);
    expect(res.body.hold).toMatchObject({
      wallet_id: a.wallet,
      amount: '400',
      captured_amount: '0',
      currency: 'USD',
      status: 'active',
      transfer_id: t,
      capture_transaction_id: null,
    });
    const ttl = Date.parse(res.body.hold.expires_at) - Date.parse(res.body.hold.created_at);
    expect(ttl).toBe(3_600_000);
    expect(await h.balance(a.wallet)).toEqual({ posted: '1000', pending: '400', available: '600' });

    const key = randomUUID();
    const cap = await capture(
      res.body.hold.id,
      { to_wallet_id: b.wallet, records: records(t, 'completed') },
      key,
    );
    expect(cap.status).toBe(200);
    expect(cap.body.hold).toMatchObject({ status: 'captured', captured_amount: '400' });
    expect(cap.body.transaction_id).toBe(cap.body.hold.capture_transaction_id);
    expect(await h.balance(a.wallet)).toEqual({ posted: '600', pending: '0', available: '600' });
    expect(await h.balance(b.wallet)).toEqual({ posted: '400', pending: '0', available: '400' });

    // A retry of the same request with other records (another attempt count): same answer, no new records.
    const again = await capture(
      res.body.hold.id,
      { to_wallet_id: b.wallet, records: records(t, 'completed', 2) },
      key,
    );
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(cap.body);
    // The same records under a new key (a re-run step): refused, still nothing new.
    const other = await capture(res.body.hold.id, {
      to_wallet_id: b.wallet,
      records: records(t, 'completed'),
    });
    expect(other.body.code).toBe('hold_not_active');

    const { authLogs, audit } = await mongoRecords(t);
    expect(authLogs).toHaveLength(1);
    expect(authLogs[0]).toMatchObject({
      _id: `${t}:auth-log`,
      transfer_id: t,
      workflow_id: `transfer-${t}`,
      outcome: 'completed',
      step_up: false,
      recorded_by: 'orchestrator',
    });
    expect(audit.map((d) => d._id).sort()).toEqual([
      `${t}:audit:0:reserve:completed`,
      `${t}:audit:1:capture:completed`,
    ]);
    expect(audit[0]).toMatchObject({ workflow_id: `transfer-${t}`, attempt: 1 });

    const rel = await release(t, { records: records(t, 'completed') });
    expect(rel.status).toBe(409);
    expect(rel.body.code).toBe('hold_already_captured');
  });

  it('refuses each broken rule with its code and places no hold', async () => {
    const a = await party('USD', 1000n);
    const b = await party();
    const stranger = await party('USD', 1000n);
    const eur = await party('EUR', 1000n);
    const refused = async (res: Awaited<ReturnType<typeof reserve>>, status: number, code: string) => {
      expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      return res.body;
    };
    await refused(
      await reserve(randomUUID(), { ...a, wallet: randomUUID() }, b, '1'),
      404,
      'wallet_not_found',
    );
    await refused(await reserve(randomUUID(), { ...a, user: stranger.user }, b, '1'), 403, 'not_authorized');
    await refused(await reserve(randomUUID(), a, a, '1'), 403, 'not_authorized');
    await refused(
      await reserve(randomUUID(), a, { ...b, wallet: randomUUID() }, '1'),
      404,
      'wallet_not_found',
    );
    await refused(await reserve(randomUUID(), a, eur, '1'), 422, 'currency_mismatch');
    await refused(await reserve(randomUUID(), a, b, '1', { currency: 'EUR' }), 422, 'currency_mismatch');
    const perTransfer = await refused(
      await reserve(randomUUID(), a, b, '101', { limits: { per_transfer: '100', daily: '1000' } }),
      422,
      'limit_exceeded',
    );
    expect(perTransfer.limit).toBe('per_transfer');
    const daily = await refused(
      await reserve(randomUUID(), a, b, '101', { limits: { per_transfer: '1000', daily: '100' } }),
      422,
      'limit_exceeded',
    );
    expect(daily.limit).toBe('daily');
    await refused(await reserve(randomUUID(), a, b, '1001'), 422, 'insufficient_funds');

    await h.call('POST', `/internal/wallets/${b.wallet}/freeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    await refused(await reserve(randomUUID(), a, b, '1'), 409, 'wallet_frozen');
    await h.call('POST', `/internal/wallets/${b.wallet}/unfreeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    await h.call('POST', `/internal/wallets/${a.wallet}/freeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    await refused(await reserve(randomUUID(), a, b, '1'), 409, 'wallet_frozen');
    await h.call('POST', `/internal/wallets/${a.wallet}/unfreeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    // No route closes a wallet yet; an operator's direct change is enough to test the refusal.
    const closed = await party();
    await sql`update wallets set status = 'closed' where id = ${closed.wallet}`.execute(h.db);
    await refused(await reserve(randomUUID(), a, closed, '1'), 409, 'wallet_closed');

    expect(await h.balance(a.wallet)).toEqual({ posted: '1000', pending: '0', available: '1000' });
    const t = randomUUID();
    expect((await reserve(t, a, b, '10')).status).toBe(201);
    await refused(await reserve(t, a, b, '10'), 409, 'transfer_already_reserved');
    expect(await h.balance(a.wallet)).toEqual({ posted: '1000', pending: '10', available: '990' });
  });

  it('counts captured transfers of the last 24 hours and active holds against the daily limit', async () => {
    const a = await party('USD', 10_000n);
    const b = await party();
    const limits = { per_transfer: '1000', daily: '1000' };
    const first = await reserve(randomUUID(), a, b, '600', { limits });
    expect((await capture(first.body.hold.id, { to_wallet_id: b.wallet })).status).toBe(200);
    const second = await reserve(randomUUID(), a, b, '300', { limits });
    expect(second.status).toBe(201);
    // 600 captured + 300 held + 101 > 1000.
    expect((await reserve(randomUUID(), a, b, '101', { limits })).body).toMatchObject({
      code: 'limit_exceeded',
      limit: 'daily',
    });
    expect((await reserve(randomUUID(), a, b, '100', { limits })).status).toBe(201);
  });

  it('five concurrent reserves of 99,999 against a daily limit of 200,000: two pass, the sum stays within the limit', async () => {
    const a = await party('USD', 1_000_000n);
    const b = await party();
    const limits = { per_transfer: '100000', daily: '200000' };
    const results = await Promise.all(
      Array.from({ length: 5 }, () => reserve(randomUUID(), a, b, '99999', { limits })),
    );
    const passed = results.filter((r) => r.status === 201);
    expect(passed).toHaveLength(2);
    for (const r of results.filter((x) => x.status !== 201))
      expect(r.body).toMatchObject({ code: 'limit_exceeded', limit: 'daily' });
    // Capture one and try again: captured + active + new would exceed the limit.
    expect((await capture(passed[0]!.body.hold.id, { to_wallet_id: b.wallet })).status).toBe(200);
    expect((await reserve(randomUUID(), a, b, '99999', { limits })).body.code).toBe('limit_exceeded');
    const { rows } = await sql<{ total: string }>`
      select (coalesce(sum(case when status = 'active' then amount end), 0)
        + coalesce(sum(captured_amount), 0))::text as total
      from holds where wallet_id = ${a.wallet}`.execute(h.db);
    expect(BigInt(rows[0]!.total)).toBe(199_998n);
  });

  it('replays a key: the same answer, a refusal stays a refusal, other money fields are a mismatch', async () => {
    const a = await party('USD', 100n);
    const b = await party();
    const t = randomUUID();
    const key = randomUUID();
    const first = await reserve(t, a, b, '150', {}, key);
    expect(first.body.code).toBe('insufficient_funds');
    await h.call('POST', `/internal/wallets/${a.wallet}/deposits`, {
      body: { amount: '100', currency: 'USD', reference: `top-up ${randomUUID()}` },
      key: randomUUID(),
    });
    const replay = await reserve(t, a, b, '150', {}, key);
    expect(replay.status).toBe(422);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await h.balance(a.wallet)).toEqual({ posted: '200', pending: '0', available: '200' });

    const k2 = randomUUID();
    const ok = await reserve(randomUUID(), a, b, '50', {}, k2);
    expect(ok.status).toBe(201);
    const same = await h.call('POST', `/internal/transfers/${ok.body.hold.transfer_id}/reserve`, {
      body: {
        user_id: a.user,
        from_wallet_id: a.wallet,
        to_wallet_id: b.wallet,
        amount: '50',
        currency: 'USD',
        limits: LIMITS,
        hold_ttl_seconds: 3600,
      },
      key: k2,
    });
    expect(same.status).toBe(201);
    expect(same.body).toEqual(ok.body);
    const other = await reserve(ok.body.hold.transfer_id, a, b, '51', {}, k2);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_mismatch');
    expect(await h.balance(a.wallet)).toEqual({ posted: '200', pending: '50', available: '150' });
  });

  it('capture: another amount under the same key is a mismatch, other records are not', async () => {
    const a = await party('USD', 100n);
    const b = await party();
    const t = randomUUID();
    const hold = (await reserve(t, a, b, '60')).body.hold;
    const key = randomUUID();
    expect((await capture(hold.id, { to_wallet_id: b.wallet, amount: '50' }, key)).status).toBe(200);
    const withRecords = await capture(
      hold.id,
      { to_wallet_id: b.wallet, amount: '50', records: records(t, 'completed') },
      key,
    );
    expect(withRecords.status).toBe(200);
    expect(withRecords.headers.get('idempotent-replayed')).toBe('true');
    const otherAmount = await capture(hold.id, { to_wallet_id: b.wallet, amount: '40' }, key);
    expect(otherAmount.body.code).toBe('idempotency_key_mismatch');
    // The replay stored by the first request wrote no records.
    expect((await mongoRecords(t)).authLogs).toHaveLength(0);
    expect(await h.balance(a.wallet)).toEqual({ posted: '50', pending: '0', available: '50' });
  });
});

describe('release by transfer id', () => {
  it('releases the hold once, answers released:false afterwards, and records exactly once', async () => {
    const a = await party('USD', 100n);
    const b = await party();
    const t = randomUUID();
    await reserve(t, a, b, '70');
    const first = await release(t, { records: records(t, 'failed') });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ released: true, hold: { status: 'released', transfer_id: t } });
    expect(await h.balance(a.wallet)).toEqual({ posted: '100', pending: '0', available: '100' });
    // retryCompensation: another key, the same records.
    const second = await release(t, { records: records(t, 'failed') });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ released: false, hold: { status: 'released' } });
    const { authLogs, audit } = await mongoRecords(t);
    expect(authLogs).toHaveLength(1);
    expect(authLogs[0]).toMatchObject({ outcome: 'failed', failure_code: 'wallet_frozen' });
    expect(audit).toHaveLength(2);
  });

  it('a transfer without a hold: released:false, records still written; no body is fine too', async () => {
    const t = randomUUID();
    const res = await release(t, { records: records(t, 'cancelled') });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ released: false, hold: null });
    expect((await mongoRecords(t)).authLogs).toHaveLength(1);
    const bare = await release(randomUUID());
    expect(bare.status).toBe(200);
    expect(bare.body).toEqual({ released: false, hold: null });
  });

  it('requires a key and validates records', async () => {
    const t = randomUUID();
    const noKey = await h.call('POST', `/internal/transfers/${t}/release`, { body: {} });
    expect(noKey.body.code).toBe('idempotency_key_required');
    const bad = await release(t, { records: { auth_log: { transfer_id: t } } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
  });
});

describe('release and reserve of the same transfer never leave a hold behind', () => {
  /** The reserve function called directly (as the service does), on a given connection. */
  async function reserveSql(
    conn: Kysely<Database>,
    transferId: string,
    from: Party,
    to: Party,
    amount: string,
  ) {
    const { rows } = await sql<{ status_code: number; response: { code?: string } }>`
      select * from velora_reserve_transfer('race-test', ${randomUUID()}, 'fp', ${transferId},
        ${from.user}::uuid, ${from.wallet}::uuid, ${to.wallet}::uuid, ${amount}::bigint, 'USD',
        500000, 1000000, 3600)`.execute(conn);
    return rows[0]!;
  }

  async function releaseSql(conn: Kysely<Database>, transferId: string) {
    const { rows } = await sql<{ status_code: number; response: { released?: boolean } }>`
      select * from velora_release_transfer('race-test', ${randomUUID()}, 'fp', ${transferId}, null)`.execute(
      conn,
    );
    return rows[0]!;
  }

  async function activeHolds(transferId: string): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from holds where transfer_id = ${transferId} and status = 'active'`.execute(
      h.db,
    );
    return rows[0]!.n;
  }

  /**
   * Resolves once `pending` has settled or its backend waits for a lock held by the backend
   * `holder` (that transaction's uncommitted claim): the moment to commit that transaction.
   */
  async function blockedOrSettled(pending: Promise<unknown>, holder: number): Promise<'blocked' | 'settled'> {
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (;;) {
      if (settled) return 'settled';
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where ${holder}::int = any (pg_blocking_pids(pid))`.execute(h.db);
      if (rows[0]!.n > 0) return 'blocked';
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function backendPid(conn: Kysely<Database>): Promise<number> {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
    return rows[0]!.pid;
  }

  /**
   * Runs `first` in a transaction on a connection of its own, starts `second` while that
   * transaction is open and checks that `second` waits for it (for its uncommitted claim); then
   * commits and returns `second`'s answer. A failed expectation rolls back, so neither the
   * transaction nor the waiting call stays open.
   */
  async function whileUncommitted<T>(
    first: (conn: Kysely<Database>) => Promise<void>,
    second: () => Promise<T>,
  ): Promise<T> {
    return h.db.connection().execute(async (conn) => {
      const holder = await backendPid(conn);
      let open = true;
      await sql`begin`.execute(conn);
      try {
        await first(conn);
        const pending = second();
        expect(await blockedOrSettled(pending, holder)).toBe('blocked');
        await sql`commit`.execute(conn);
        open = false;
        return await pending;
      } finally {
        if (open) await sql`rollback`.execute(conn);
      }
    });
  }

  it('a release before any reserve: a later reserve of that transfer is refused and places no hold', async () => {
    const a = await party('USD', 500n);
    const b = await party();
    const t = randomUUID();
    const rel = await release(t, { records: records(t, 'failed') });
    expect(rel.body).toEqual({ released: false, hold: null });
    // A late or retried reserve (another idempotency key) arrives after the saga gave up.
    const late = await reserve(t, a, b, '200');
    expect({ status: late.status, code: late.body.code }).toEqual({ status: 409, code: 'transfer_released' });
    expect(late.headers.get('content-type')).toContain('application/problem+json');
    expect(await activeHolds(t)).toBe(0);
    expect(await h.balance(a.wallet)).toEqual({ posted: '500', pending: '0', available: '500' });
    // The refusal is stored: the same key answers the same.
    const key = randomUUID();
    const first = await reserve(t, a, b, '200', {}, key);
    const replay = await reserve(t, a, b, '200', {}, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await activeHolds(t)).toBe(0);
  });

  it('a release that runs while the reserve is still committing waits for it and releases its hold', async () => {
    const a = await party('USD', 1000n);
    const b = await party();
    const t = randomUUID();
    const before = await h.balance(a.wallet);
    const res = await whileUncommitted(
      async (conn) => expect((await reserveSql(conn, t, a, b, '300')).status_code).toBe(201),
      // The orchestrator's reserve timed out; the saga compensates while the reserve is uncommitted.
      // The release waits for the reserve's claim instead of answering at once that there is no hold.
      () => release(t, { records: records(t, 'failed') }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ released: true, hold: { status: 'released', transfer_id: t } });
    expect(await activeHolds(t)).toBe(0);
    expect(await h.balance(a.wallet)).toEqual(before);
  });

  it('a reserve that runs while the release is still committing waits for it and is refused', async () => {
    const a = await party('USD', 1000n);
    const b = await party();
    const t = randomUUID();
    const before = await h.balance(a.wallet);
    const res = await whileUncommitted(
      async (conn) =>
        expect(await releaseSql(conn, t)).toMatchObject({ status_code: 200, response: { released: false } }),
      () => reserve(t, a, b, '300'),
    );
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 409, code: 'transfer_released' });
    expect(await activeHolds(t)).toBe(0);
    expect(await h.balance(a.wallet)).toEqual(before);
  });

  it('a reserve refused for want of funds leaves no claim: the same transfer may reserve after a deposit', async () => {
    const a = await party('USD', 100n);
    const b = await party();
    const t = randomUUID();
    expect((await reserve(t, a, b, '150')).body.code).toBe('insufficient_funds');
    await h.call('POST', `/internal/wallets/${a.wallet}/deposits`, {
      body: { amount: '100', currency: 'USD', reference: `top-up ${randomUUID()}` },
      key: randomUUID(),
    });
    expect((await reserve(t, a, b, '150')).status).toBe(201);
    expect((await release(t)).body).toMatchObject({ released: true });
    expect((await reserve(t, a, b, '150')).body.code).toBe('transfer_released');
    expect(await h.balance(a.wallet)).toEqual({ posted: '200', pending: '0', available: '200' });
  });
});

describe('GET /internal/transfers/:transfer_id: where a transfer stands in the ledger', () => {
  it('shows no hold, then the active hold, then the capture’s credit leg from the journal', async () => {
    const a = await party('USD', 1000n);
    const b = await party();
    const t = randomUUID();
    const state = () => h.call('GET', `/internal/transfers/${t}`);
    expect((await state()).body).toEqual({ hold: null, capture: null });

    const hold = (await reserve(t, a, b, '250')).body.hold;
    expect((await state()).body).toMatchObject({ hold: { id: hold.id, status: 'active' }, capture: null });

    const cap = await capture(hold.id, { to_wallet_id: b.wallet, records: records(t, 'completed') });
    const read = await state();
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      hold: { id: hold.id, status: 'captured' },
      capture: { transaction_id: cap.body.transaction_id, to_wallet_id: b.wallet, amount: '250' },
    });
    // The release a failing saga would send now is refused: the money moved.
    expect((await release(t)).body.code).toBe('hold_already_captured');
  });

  it('shows a released hold without a capture', async () => {
    const a = await party('USD', 1000n);
    const b = await party();
    const t = randomUUID();
    await reserve(t, a, b, '100');
    await release(t);
    expect((await h.call('GET', `/internal/transfers/${t}`)).body).toMatchObject({
      hold: { status: 'released' },
      capture: null,
    });
  });
});
