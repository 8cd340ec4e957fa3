import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_TRACE, AUTH_LOG } from '../history/history.collections.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

/**
 * The one-call reserve (migration 0046): a transfer that needs no step-up is reserved and
 * captured in one transaction, with the capture's records, against real PostgreSQL.
 */
let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

interface Party {
  wallet: string;
  user: string;
}

async function party(funded = 0n): Promise<Party> {
  const wallet = await h.wallet('USD', funded);
  const res = await h.call('GET', `/internal/wallets/${wallet}`);
  return { wallet, user: String(res.body.user_id) };
}

function records(transferId: string) {
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
      outcome: 'completed' as const,
    },
    audit: [
      { step: 'reserve', status: 'completed', attempt: 1, duration_ms: 3 },
      { step: 'step_up', status: 'skipped', attempt: 0, duration_ms: 0 },
    ],
  };
}

/** The orchestrator's one-call reserve: keys `<workflowId>:reserve` and `<workflowId>:capture`. */
function reserveCapture(
  t: string,
  from: Party,
  to: Party,
  amount: string,
  { daily = '1000000', key = `transfer-${t}:reserve` } = {},
) {
  return h.call('POST', `/internal/transfers/${t}/reserve`, {
    body: {
      user_id: from.user,
      from_wallet_id: from.wallet,
      to_wallet_id: to.wallet,
      amount,
      currency: 'USD',
      limits: { per_transfer: '500000', daily },
      hold_ttl_seconds: 3600,
      capture: { idempotency_key: `transfer-${t}:capture`, records: records(t) },
    },
    key,
  });
}

async function journalSum(transferId: string): Promise<{ n: number; sum: string }> {
  const { rows } = await sql<{ n: number; sum: string }>`
    select count(*)::int as n, coalesce(sum(p.amount), 0)::text as sum
      from postings p join journal_transactions t on t.id = p.transaction_id
      where t.transfer_id = ${transferId}`.execute(h.db);
  return rows[0]!;
}

describe('reserve with capture: one call, one transaction', () => {
  it('moves the money once, records once, replays the same answer, and a later capture replays it too', async () => {
    const a = await party(1000n);
    const b = await party();
    const t = randomUUID();
    const res = await reserveCapture(t, a, b, '400');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      captured: true,
      hold: {
        status: 'captured',
        amount: '400',
        captured_amount: '400',
        transfer_id: t,
        wallet_id: a.wallet,
      },
    });
    expect(res.body.transaction_id).toBe(res.body.hold.capture_transaction_id);
    expect(await h.balance(a.wallet)).toEqual({ posted: '600', pending: '0', available: '600' });
    expect(await h.balance(b.wallet)).toEqual({ posted: '400', pending: '0', available: '400' });
    expect(await journalSum(t)).toEqual({ n: 2, sum: '0' });

    // The answer lost and the local activity retried with the same key: the same answer.
    const again = await reserveCapture(t, a, b, '400');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(res.body);

    // A capture sent afterwards with the capture's key: the same success, nothing moves again.
    const cap = await h.call('POST', `/internal/holds/${res.body.hold.id}/capture`, {
      body: { to_wallet_id: b.wallet, amount: '400', records: records(t) },
      key: `transfer-${t}:capture`,
    });
    expect(cap.status).toBe(200);
    expect(cap.headers.get('idempotent-replayed')).toBe('true');
    expect(cap.body).toEqual({ hold: res.body.hold, transaction_id: res.body.transaction_id });
    // Another amount under that key is still a mismatch.
    const other = await h.call('POST', `/internal/holds/${res.body.hold.id}/capture`, {
      body: { to_wallet_id: b.wallet, amount: '399' },
      key: `transfer-${t}:capture`,
    });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_mismatch');

    // Release after it: refused, so the workflow escalates (needs_attention / resolveAsCompleted).
    const rel = await h.call('POST', `/internal/transfers/${t}/release`, { body: {}, key: randomUUID() });
    expect(rel.status).toBe(409);
    expect(rel.body.code).toBe('hold_already_captured');
    expect(await h.balance(a.wallet)).toEqual({ posted: '600', pending: '0', available: '600' });
    expect(await h.balance(b.wallet)).toEqual({ posted: '400', pending: '0', available: '400' });
    expect(await journalSum(t)).toEqual({ n: 2, sum: '0' });

    // The same records as a two-call capture writes, once.
    await h.relay.drainAll();
    const authLogs = await h.mongo.collection<{ _id: string }>(AUTH_LOG).find({ transfer_id: t }).toArray();
    const audit = await h.mongo.collection<{ _id: string }>(AUDIT_TRACE).find({ transfer_id: t }).toArray();
    expect(authLogs.map((d) => d._id)).toEqual([`${t}:auth-log`]);
    expect(authLogs[0]).toMatchObject({ outcome: 'completed', step_up: false, recorded_by: 'orchestrator' });
    expect(audit.map((d) => d._id).sort()).toEqual([
      `${t}:audit:0:reserve:completed`,
      `${t}:audit:1:step_up:skipped`,
    ]);

    // The ledger state an operator's resolveAsCompleted reads shows the capture.
    const state = await h.call('GET', `/internal/transfers/${t}`);
    expect(state.body.capture).toEqual({
      transaction_id: res.body.transaction_id,
      to_wallet_id: b.wallet,
      amount: '400',
    });
  });

  it('insufficient funds: refused, nothing moved, no hold, no records; the refusal replays', async () => {
    const a = await party(100n);
    const b = await party();
    const t = randomUUID();
    const res = await reserveCapture(t, a, b, '101');
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('insufficient_funds');
    expect((await reserveCapture(t, a, b, '101')).body.code).toBe('insufficient_funds');
    expect(await h.balance(a.wallet)).toEqual({ posted: '100', pending: '0', available: '100' });
    expect(await h.balance(b.wallet)).toEqual({ posted: '0', pending: '0', available: '0' });
    expect(await journalSum(t)).toEqual({ n: 0, sum: '0' });
    const state = await h.call('GET', `/internal/transfers/${t}`);
    expect(state.body).toEqual({ hold: null, capture: null });
  });

  it('refuses what the reserve refuses: another user’s wallet, the per-transfer limit, bad input', async () => {
    const a = await party(1000n);
    const b = await party();
    const stranger = { ...a, user: b.user };
    expect((await reserveCapture(randomUUID(), stranger, b, '10')).body.code).toBe('not_authorized');
    expect((await reserveCapture(randomUUID(), a, b, '500001')).body).toMatchObject({
      code: 'limit_exceeded',
      limit: 'per_transfer',
    });
    const bad = await h.call('POST', `/internal/transfers/${randomUUID()}/reserve`, {
      body: {
        user_id: a.user,
        from_wallet_id: a.wallet,
        to_wallet_id: b.wallet,
        amount: '10',
        currency: 'USD',
        limits: { per_transfer: '500000', daily: '1000000' },
        hold_ttl_seconds: 3600,
        capture: { idempotency_key: 'has a space', records: {} },
      },
      key: randomUUID(),
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
    expect(await h.balance(a.wallet)).toEqual({ posted: '1000', pending: '0', available: '1000' });
  });

  it('eight concurrent transfers of 300 against a daily limit of 1,000: the sum moved stays within it', async () => {
    const a = await party(10_000n);
    const bs = await Promise.all(Array.from({ length: 8 }, () => party()));
    const answers = await Promise.all(
      bs.map((b) => reserveCapture(randomUUID(), a, b, '300', { daily: '1000' })),
    );
    const passed = answers.filter((r) => r.status === 201);
    expect(passed).toHaveLength(3);
    for (const r of answers.filter((x) => x.status !== 201)) {
      expect(r.body).toMatchObject({ code: 'limit_exceeded', limit: 'daily' });
    }
    expect(await h.balance(a.wallet)).toEqual({ posted: '9100', pending: '0', available: '9100' });
    const credited = await Promise.all(bs.map(async (b) => BigInt((await h.balance(b.wallet)).posted)));
    expect(credited.reduce((x, y) => x + y, 0n)).toBe(900n);
    // A plain reserve after them counts the captured volume too.
    const more = await h.call('POST', `/internal/transfers/${randomUUID()}/reserve`, {
      body: {
        user_id: a.user,
        from_wallet_id: a.wallet,
        to_wallet_id: bs[0]!.wallet,
        amount: '101',
        currency: 'USD',
        limits: { per_transfer: '500000', daily: '1000' },
        hold_ttl_seconds: 3600,
      },
      key: randomUUID(),
    });
    expect(more.body).toMatchObject({ code: 'limit_exceeded', limit: 'daily' });
  });

  it('opposite transfers between two wallets at once all land (both wallets locked in id order)', async () => {
    const a = await party(5000n);
    const b = await party(5000n);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0 ? reserveCapture(randomUUID(), a, b, '100') : reserveCapture(randomUUID(), b, a, '70'),
      ),
    );
    expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 201));
    expect(await h.balance(a.wallet)).toEqual({ posted: '4850', pending: '0', available: '4850' });
    expect(await h.balance(b.wallet)).toEqual({ posted: '5150', pending: '0', available: '5150' });
  });
});
