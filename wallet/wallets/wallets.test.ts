/* eslint-disable @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call -- response bodies are untyped JSON in tests */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

describe('wallets', () => {
  it('creates one wallet per user and currency, idempotently', async () => {
    const user = randomUUID();
    const first = await h.call('POST', '/internal/wallets', {
      body: { user_id: user, currency: 'USD' },
      key: randomUUID(),
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      user_id: user,
      currency: 'USD',
      status: 'active',
      balance: { posted: '0', pending: '0', available: '0' },
    });
    const again = await h.call('POST', '/internal/wallets', {
      body: { user_id: user, currency: 'USD' },
      key: randomUUID(),
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(first.body.exponent).toBe(2);
    const jpy = await h.call('POST', '/internal/wallets', {
      body: { user_id: user, currency: 'JPY' },
      key: randomUUID(),
    });
    expect(jpy.body.exponent).toBe(0);
    const eur = await h.call('POST', '/internal/wallets', {
      body: { user_id: user, currency: 'EUR' },
      key: randomUUID(),
    });
    expect(eur.status).toBe(201);
    const list = await h.call('GET', `/internal/wallets?user_id=${user}`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((w: { currency: string }) => w.currency).sort()).toEqual([
      'EUR',
      'JPY',
      'USD',
    ]);
    const got = await h.call('GET', `/internal/wallets/${first.body.id}`);
    expect(got.body).toEqual(first.body);
  });

  it('creates exactly one wallet when many requests race', async () => {
    const user = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.call('POST', '/internal/wallets', { body: { user_id: user, currency: 'JPY' }, key: randomUUID() }),
      ),
    );
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
  });

  it('answers unknown wallets with wallet_not_found', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      const res = await h.call('GET', `/internal/wallets/${id}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.code).toBe('wallet_not_found');
    }
  });

  it('reads a batch of wallets of several owners by id in one call, leaving out unknown ids and system accounts', async () => {
    const a = await h.wallet('USD', 500n);
    const b = await h.wallet('EUR');
    const c = await h.wallet('JPY');
    const unknown = randomUUID();
    const { rows } = await sql<{ id: string }>`
      select id from wallets where kind = 'system' limit 1`.execute(h.db);
    const system = rows[0]!.id;
    const res = await h.call(
      'GET',
      `/internal/wallets?ids=${[a, unknown, b, system, a.toUpperCase(), c].join(',')}`,
    );
    expect(res.status).toBe(200);
    const byId = new Map((res.body.items as { id: string }[]).map((w) => [w.id, w]));
    expect([...byId.keys()].sort()).toEqual([a, b, c].sort());
    expect(res.body.items).toHaveLength(3);
    // Each item is what the single read answers, owner and balance included.
    for (const id of [a, b, c])
      expect(byId.get(id)).toEqual((await h.call('GET', `/internal/wallets/${id}`)).body);
    expect(byId.get(a)).toMatchObject({ balance: { posted: '500', available: '500' } });
  });

  it('refuses a malformed batch read as validation_failed, and user tokens', async () => {
    const a = await h.wallet();
    const tooMany = Array.from({ length: 101 }, () => randomUUID()).join(',');
    for (const query of [
      'ids=',
      `ids=${a},not-a-uuid`,
      `ids=${a},`,
      `ids=${tooMany}`,
      `ids=${a}&user_id=${randomUUID()}`,
      `ids=${a}&limit=5`,
    ]) {
      const res = await h.call('GET', `/internal/wallets?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const hundred = Array.from({ length: 99 }, (): string => randomUUID())
      .concat(a)
      .join(',');
    expect((await h.call('GET', `/internal/wallets?ids=${hundred}`)).body.items).toHaveLength(1);
    const userToken = await h.issuer.mint({
      sub: randomUUID(),
      scope: 'wallet:read',
      client_id: 'velora-web',
    });
    const refused = await h.call('GET', `/internal/wallets?ids=${a}`, { token: userToken });
    expect(refused.status).toBe(403);
  });

  it('rejects bad input as validation_failed', async () => {
    for (const body of [
      { user_id: 'x', currency: 'USD' },
      { user_id: randomUUID(), currency: 'XXY' },
      { user_id: randomUUID(), currency: 'usd' },
      { user_id: randomUUID() },
    ]) {
      const res = await h.call('POST', '/internal/wallets', { body, key: randomUUID() });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const malformed = await h.call('POST', '/internal/wallets', { body: '{"user_id":', key: randomUUID() });
    expect(malformed.status).toBe(400);
  });

  it('requires a service token with the route scope and an idempotency key', async () => {
    const user = randomUUID();
    const anonymous = await h.app.request('/internal/wallets/' + randomUUID());
    expect(anonymous.status).toBe(401);
    const readOnly = await h.issuer.serviceToken('wallet:read', 'gateway');
    const denied = await h.call('POST', '/internal/wallets', {
      body: { user_id: user, currency: 'USD' },
      key: randomUUID(),
      token: readOnly,
    });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('insufficient_scope');
    const noKey = await h.call('POST', '/internal/wallets', { body: { user_id: user, currency: 'USD' } });
    expect(noKey.status).toBe(400);
    expect(noKey.body.code).toBe('idempotency_key_required');
    const writer = await h.issuer.serviceToken('wallet:read wallet:write');
    const wallet = await h.call('POST', '/internal/wallets', {
      body: { user_id: user, currency: 'USD' },
      key: randomUUID(),
      token: writer,
    });
    const freeze = await h.call('POST', `/internal/wallets/${wallet.body.id}/freeze`, {
      key: randomUUID(),
      token: writer,
    });
    expect(freeze.status).toBe(403);
    // Scopes nest (read < write < admin): the gateway creates wallets with wallet:admin.
    const gateway = await h.issuer.serviceToken('wallet:read wallet:admin', 'velora-gateway');
    const created = await h.call('POST', '/internal/wallets', {
      body: { user_id: randomUUID(), currency: 'USD' },
      key: randomUUID(),
      token: gateway,
    });
    expect(created.status).toBe(201);
    const otherScope = await h.issuer.serviceToken('auth:internal', 'someone');
    expect((await h.call('GET', `/internal/wallets/${wallet.body.id}`, { token: otherScope })).status).toBe(
      403,
    );
  });

  it('freezes and unfreezes (operators only)', async () => {
    const user = randomUUID();
    const w = await h.call('POST', '/internal/wallets', {
      body: { user_id: user, currency: 'USD' },
      key: randomUUID(),
    });
    const frozen = await h.call('POST', `/internal/wallets/${w.body.id}/freeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect(frozen.status).toBe(200);
    expect(frozen.body.status).toBe('frozen');
    const thawed = await h.call('POST', `/internal/wallets/${w.body.id}/unfreeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect(thawed.body.status).toBe('active');
    const missing = await h.call('POST', `/internal/wallets/${randomUUID()}/freeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect(missing.status).toBe(404);
  });

  it('lets operators grant an overdraft: the only way below zero, and never beyond it', async () => {
    const w = await h.wallet('USD', 100n);
    const set = await h.call('POST', `/internal/wallets/${w}/overdraft`, {
      body: { limit: '50' },
      key: randomUUID(),
    });
    expect(set.status).toBe(200);
    expect(set.body.overdraft_limit).toBe('50');
    const wd = (amount: string) =>
      h.call('POST', `/internal/wallets/${w}/withdrawals`, {
        body: { amount, currency: 'USD', reference: `od ${randomUUID()}` },
        key: randomUUID(),
      });
    expect((await wd('151')).body.code).toBe('insufficient_funds');
    expect((await wd('150')).status).toBe(201);
    expect(await h.balance(w)).toEqual({ posted: '-50', pending: '0', available: '-50' });
    const lower = await h.call('POST', `/internal/wallets/${w}/overdraft`, {
      body: { limit: '10' },
      key: randomUUID(),
    });
    expect(lower.body.code).toBe('insufficient_funds');
    for (const limit of ['-1', '1.5', 5]) {
      expect(
        (await h.call('POST', `/internal/wallets/${w}/overdraft`, { body: { limit }, key: randomUUID() }))
          .status,
      ).toBe(400);
    }
  });
});
