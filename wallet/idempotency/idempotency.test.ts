import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeIdempotencyKeys } from './idempotency.service.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

interface Case {
  /** Builds a fresh request, another request to reuse the key with, and a probe of its effect. */
  setup(): Promise<{
    path: string;
    body?: unknown;
    other: { path: string; body?: unknown };
    effect: () => Promise<unknown>;
  }>;
}

const json = <T>(v: unknown) => v as T;
const idOf = (v: unknown) => json<{ id: string }>(v).id;

async function postedOf(walletId: string) {
  return (await h.balance(walletId)).posted;
}
async function newHold(walletId: string, amount = '100') {
  const res = await h.hold(walletId, amount);
  return { id: idOf(res.body), transferId: res.transferId };
}

const cases: Record<string, Case> = {
  'create wallet': {
    async setup() {
      const user = randomUUID();
      return {
        path: '/internal/wallets',
        body: { user_id: user, currency: 'USD' },
        other: { path: '/internal/wallets', body: { user_id: user, currency: 'EUR' } },
        effect: async () =>
          json<{ items: unknown[] }>((await h.call('GET', `/internal/wallets?user_id=${user}`)).body).items
            .length,
      };
    },
  },
  deposit: {
    async setup() {
      const w = await h.wallet('USD');
      const path = `/internal/wallets/${w}/deposits`;
      return {
        path,
        body: { amount: '10', currency: 'USD', reference: 'r' },
        other: { path, body: { amount: '11', currency: 'USD', reference: 'r' } },
        effect: () => postedOf(w),
      };
    },
  },
  withdrawal: {
    async setup() {
      const w = await h.wallet('USD', 1000n);
      const path = `/internal/wallets/${w}/withdrawals`;
      return {
        path,
        body: { amount: '10', currency: 'USD', reference: 'r' },
        other: { path, body: { amount: '10', currency: 'USD', reference: 'other' } },
        effect: () => postedOf(w),
      };
    },
  },
  'reserve transfer': {
    async setup() {
      const w = await h.wallet('USD', 1000n);
      const owner = json<{ user_id: string }>((await h.call('GET', `/internal/wallets/${w}`)).body);
      const path = `/internal/transfers/${randomUUID()}/reserve`;
      const body = {
        user_id: owner.user_id,
        from_wallet_id: w,
        to_wallet_id: await h.wallet('USD'),
        amount: '10',
        currency: 'USD',
        limits: { per_transfer: '1000', daily: '1000' },
        hold_ttl_seconds: 900,
      };
      return {
        path,
        body,
        other: { path, body: { ...body, amount: '11' } },
        effect: async () => (await h.balance(w)).pending,
      };
    },
  },
  capture: {
    async setup() {
      const a = await h.wallet('USD', 1000n);
      const b = await h.wallet('USD');
      const hold = (await newHold(a)).id;
      return {
        path: `/internal/holds/${hold}/capture`,
        body: { to_wallet_id: b, amount: '40' },
        other: { path: `/internal/holds/${hold}/capture`, body: { to_wallet_id: b } },
        effect: async () => [await postedOf(a), await postedOf(b)],
      };
    },
  },
  'release transfer': {
    async setup() {
      const a = await h.wallet('USD', 1000n);
      const hold = await newHold(a);
      const other = await newHold(a, '5');
      return {
        path: `/internal/transfers/${hold.transferId}/release`,
        other: { path: `/internal/transfers/${other.transferId}/release` },
        effect: async () => (await h.balance(a)).pending,
      };
    },
  },
  reverse: {
    async setup() {
      const w = await h.wallet('USD');
      const dep = await h.call('POST', `/internal/wallets/${w}/deposits`, {
        body: { amount: '70', currency: 'USD', reference: 'r' },
        key: randomUUID(),
      });
      const path = `/internal/transactions/${json<{ transaction_id: string }>(dep.body).transaction_id}/reverse`;
      return {
        path,
        body: { reason: 'a' },
        other: { path, body: { reason: 'b' } },
        effect: () => postedOf(w),
      };
    },
  },
  freeze: {
    async setup() {
      const w = await h.wallet('USD');
      return {
        path: `/internal/wallets/${w}/freeze`,
        body: { reason: 'suspected fraud', requested_by: 'admin' },
        other: {
          path: `/internal/wallets/${w}/unfreeze`,
          body: { reason: 'cleared', requested_by: 'admin' },
        },
        effect: async () =>
          json<{ status: string }>((await h.call('GET', `/internal/wallets/${w}`)).body).status,
      };
    },
  },
  overdraft: {
    async setup() {
      const w = await h.wallet('USD');
      const path = `/internal/wallets/${w}/overdraft`;
      return {
        path,
        body: { limit: '25' },
        other: { path, body: { limit: '26' } },
        effect: async () =>
          json<{ overdraft_limit: string }>((await h.call('GET', `/internal/wallets/${w}`)).body)
            .overdraft_limit,
      };
    },
  },
  'audit trace': {
    async setup() {
      const workflowId = randomUUID();
      const body = {
        workflow_id: workflowId,
        step: 'capture',
        status: 'completed',
        attempt: 1,
        duration_ms: 3,
      };
      return {
        path: '/internal/audit-trace',
        body,
        other: { path: '/internal/audit-trace', body: { ...body, status: 'failed' } },
        effect: async () => {
          await h.relay.drainAll();
          return h.mongo.collection('audit_trace').countDocuments({ workflow_id: workflowId });
        },
      };
    },
  },
  'auth log': {
    async setup() {
      const transferId = randomUUID();
      const body = {
        transfer_id: transferId,
        workflow_id: `transfer-${transferId}`,
        user_id: randomUUID(),
        client_id: 'velora-gateway',
        token_jti: randomUUID(),
        ip: '10.0.0.1',
        user_agent: 'ua',
        step_up: true,
      };
      return {
        path: '/internal/auth-log',
        body,
        other: { path: '/internal/auth-log', body: { ...body, step_up: false } },
        effect: async () => {
          await h.relay.drainAll();
          return h.mongo.collection('transaction_auth_log').countDocuments({ transfer_id: transferId });
        },
      };
    },
  },
};

describe.each(Object.entries(cases))('idempotency of %s', (_name, c) => {
  it('executes concurrent duplicates once, replays the stored result, refuses another request under the key', async () => {
    const req = await c.setup();
    const before = await req.effect();
    const key = randomUUID();
    const racing = await Promise.all(
      Array.from({ length: 6 }, () => h.call('POST', req.path, { body: req.body, key })),
    );
    const statuses = new Set(racing.map((r) => r.status));
    expect(statuses.size).toBe(1);
    expect([...statuses][0]).toBeLessThan(300);
    expect(racing.filter((r) => r.headers.get('idempotent-replayed') === 'false')).toHaveLength(1);
    const afterOnce = await req.effect();
    expect(afterOnce).not.toEqual(before);

    const replay = await h.call('POST', req.path, { body: req.body, key });
    expect(replay.status).toBe(racing[0]!.status);
    expect(replay.body).toEqual(racing[0]!.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const mismatch = await h.call('POST', req.other.path, { body: req.other.body, key });
    expect(mismatch.status).toBe(422);
    expect(json<{ code: string }>(mismatch.body).code).toBe('idempotency_key_mismatch');
    expect(await req.effect()).toEqual(afterOnce);

    const missing = await h.call('POST', req.path, { body: req.body });
    expect(missing.status).toBe(400);
    expect(json<{ code: string }>(missing.body).code).toBe('idempotency_key_required');
  });
});

describe('idempotency keys', () => {
  it('are scoped to the caller: the same key from another client is a new request', async () => {
    const w = await h.wallet('USD');
    const key = randomUUID();
    const body = { amount: '5', currency: 'USD', reference: 'r' };
    await h.call('POST', `/internal/wallets/${w}/deposits`, { body, key });
    const other = await h.issuer.serviceToken('wallet:read wallet:write', 'another-client');
    // Another payment (its own reference: a deposit is unique per wallet and reference) under the same key.
    const res = await h.call('POST', `/internal/wallets/${w}/deposits`, {
      body: { ...body, reference: 'r2' },
      key,
      token: other,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('idempotent-replayed')).toBe('false');
    expect((await h.balance(w)).posted).toBe('10');
  });

  it('reject malformed keys', async () => {
    const w = await h.wallet('USD');
    for (const key of ['has space', 'x'.repeat(256), 'é']) {
      const res = await h.call('POST', `/internal/wallets/${w}/deposits`, {
        body: { amount: '5', currency: 'USD', reference: 'r' },
        key,
      });
      expect(res.status).toBe(400);
    }
    expect((await h.balance(w)).posted).toBe('0');
  });

  it('are forgotten after the retention period, and only then', async () => {
    const w = await h.wallet('USD');
    const [oldKey, newKey] = [randomUUID(), randomUUID()];
    const body = { amount: '5', currency: 'USD', reference: 'r' };
    await h.call('POST', `/internal/wallets/${w}/deposits`, { body, key: oldKey });
    await h.call('POST', `/internal/wallets/${w}/deposits`, { body, key: newKey });
    await h.db
      .updateTable('idempotency_keys')
      .set({ created_at: new Date(Date.now() - 31 * 86_400_000) })
      .where('key', '=', oldKey)
      .execute();
    expect(await purgeIdempotencyKeys(h.db, 30)).toBeGreaterThanOrEqual(1);
    const left = await h.db
      .selectFrom('idempotency_keys')
      .select('key')
      .where('key', 'in', [oldKey, newKey])
      .execute();
    expect(left.map((r) => r.key)).toEqual([newKey]);
  });
});
