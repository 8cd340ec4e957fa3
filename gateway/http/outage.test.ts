import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../testing/harness.js';

let up: Harness;
let down: Harness;
let noTemporal: Harness;
let noWorker: Harness;
let noNamespace: Harness;
beforeAll(async () => {
  up = await createHarness();
  // Nothing listens on port 9: every call to either upstream is refused.
  down = await createHarness({
    env: { AUTH_URL: 'http://127.0.0.1:9', WALLET_URL: 'http://127.0.0.1:9' },
  });
  noWorker = await createHarness({ temporal: 'no-worker' });
  noNamespace = await createHarness({ temporal: 'no-namespace' });
  noTemporal = await createHarness({ temporal: 'unreachable', env: { TEMPORAL_RPC_TIMEOUT_MS: '1500' } });
});
afterAll(async () => {
  await up?.close();
  await down?.close();
  await noTemporal?.close();
  await noWorker?.close();
  await noNamespace?.close();
});

describe('dependency failures', () => {
  it('turns an AuthService 5xx into a neutral 502 that leaks no stack or host', async () => {
    const res = await up.request('/v1/auth/login', {
      method: 'POST',
      json: { email: 'ada@example.com', password: 'crash' },
    });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const text = await res.text();
    expect(JSON.parse(text).code).toBe('upstream_error');
    expect(text).not.toMatch(/srv|auth-db|index\.js|at login/);
  });

  it('answers a fast 503 upstream_unavailable when WalletService or AuthService is down', async () => {
    const u = await down.user();
    const wallets = await down.request('/v1/wallets', { headers: u.auth });
    expect(wallets.status).toBe(503);
    const body = await wallets.json();
    expect(body.code).toBe('upstream_unavailable');
    expect(JSON.stringify(body)).not.toContain('127.0.0.1');
    expect(wallets.headers.get('retry-after')).toBeTruthy();

    const login = await down.request('/v1/auth/login', {
      method: 'POST',
      json: { email: 'ada@example.com', password: 'x' },
    });
    expect(login.status).toBe(503);
  });

  it('reports the open circuit on /readyz', async () => {
    const u = await down.user();
    for (let i = 0; i < 4; i++) await down.request('/v1/wallets', { headers: u.auth });
    const ready = await down.request('/readyz');
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks.wallet).toBe(false);
    expect((await up.request('/readyz')).status).toBe(200);
  });

  it('answers 503 orchestrator_unavailable when Temporal cannot be reached', async () => {
    const u = await noTemporal.user();
    const from = noTemporal.wallet.addWallet(u.id, 'USD');
    const res = await noTemporal.request('/v1/transfers', {
      method: 'POST',
      headers: { ...u.auth, 'idempotency-key': 'outage-1' },
      json: {
        from_wallet_id: from.id,
        to_wallet_id: randomUUID(),
        amount: '100',
        currency: 'USD',
      },
    });
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.code).toBe('orchestrator_unavailable');
    expect(JSON.stringify(body)).not.toContain('127.0.0.1');

    const read = await noTemporal.request('/v1/transfers/0b5f6c1e-7f1a-4c1e-9a55-3f1f1d2f9b10', {
      headers: u.auth,
    });
    expect(read.status).toBe(503);
  });

  it('answers 503 orchestrator_unavailable while Temporal does not know the namespace yet (just restarted)', async () => {
    const u = await noNamespace.user();
    const from = noNamespace.wallet.addWallet(u.id, 'USD');
    const res = await noNamespace.request('/v1/transfers', {
      method: 'POST',
      headers: { ...u.auth, 'idempotency-key': randomUUID() },
      json: { from_wallet_id: from.id, to_wallet_id: randomUUID(), amount: '100', currency: 'USD' },
    });
    // Nothing was started: a retry with the same key is safe, so not a 500.
    expect(res.status).toBe(503);
    expect((await res.json()).code).toBe('orchestrator_unavailable');
    expect(res.headers.get('retry-after')).toBeTruthy();
  });

  it('accepts transfers while no worker runs and answers reads from visibility', async () => {
    const u = await noWorker.user();
    const from = noWorker.wallet.addWallet(u.id, 'USD');
    const to = randomUUID();
    const res = await noWorker.request('/v1/transfers', {
      method: 'POST',
      headers: { ...u.auth, 'idempotency-key': randomUUID() },
      json: {
        from_wallet_id: from.id,
        to_wallet_id: to,
        amount: '100',
        currency: 'USD',
        description: 'queued',
      },
    });
    expect(res.status).toBe(202);
    const t = await res.json();
    expect(t).toMatchObject({
      status: 'pending',
      from_wallet_id: from.id,
      to_wallet_id: to,
      amount: '100',
      description: 'queued',
    });

    const read = await noWorker.request(`/v1/transfers/${t.id}`, { headers: u.auth });
    expect(read.status).toBe(200);
    expect((await read.json()).status).toBe('pending');
    await noWorker.temporal.workflow.getHandle(`transfer-${t.id}`).terminate('test cleanup');
  });

  it("hides a refusal of the gateway's own credentials behind a neutral 502", async () => {
    const misconfigured = await createHarness({ serviceToken: 'expired-or-wrong' });
    try {
      const u = await misconfigured.user();
      const res = await misconfigured.request('/v1/wallets', { headers: u.auth });
      expect(res.status).toBe(502);
      expect((await res.json()).code).toBe('upstream_error');
    } finally {
      await misconfigured.close();
    }
  });
});
