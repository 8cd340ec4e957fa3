import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../test-support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ temporal: true });
});
afterAll(async () => h?.close());

const body = (reference = `ref-${randomUUID()}`) => ({ amount: '100000', currency: 'USD', reference });

describe('POST /v1/admin/wallets/:wallet_id/deposits', () => {
  it('credits a wallet for an admin (201) and replays the same deposit for the same key', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const walletId = randomUUID();
    const key = randomUUID();
    const json = body();
    const first = await h.request(`/v1/admin/wallets/${walletId}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': key },
      json,
    });
    expect(first.status).toBe(201);
    const credited = await first.json();
    expect(credited).toMatchObject({ status: 'completed', transaction_id: expect.any(String) });

    const again = await h.request(`/v1/admin/wallets/${walletId}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': key },
      json,
    });
    expect(again.status).toBe(201);
    const replay = await again.json();
    expect(replay.deposit_id).toBe(credited.deposit_id);
    expect(replay.transaction_id).toBe(credited.transaction_id);

    const changed = await h.request(`/v1/admin/wallets/${walletId}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': key },
      json: { ...json, amount: '100001' },
    });
    expect(changed.status).toBe(422);
    expect((await changed.json()).code).toBe('idempotency_key_mismatch');
  });

  it('accepts a service client with a deposit scope', async () => {
    const token = await h.issuer.serviceToken('wallet:admin', 'ops-tool');
    const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() },
      json: body(),
    });
    expect(res.status).toBe(201);
  });

  it('refuses ordinary users and services without the scope', async () => {
    const user = await h.user();
    const service = await h.issuer.serviceToken('wallet:read', 'reporting');
    for (const auth of [user.auth, { authorization: `Bearer ${service}` }]) {
      const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
        method: 'POST',
        headers: { ...auth, 'idempotency-key': randomUUID() },
        json: body(),
      });
      expect(res.status).toBe(403);
    }
  });

  it('requires an Idempotency-Key and a valid body', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const missing = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
      method: 'POST',
      headers: admin.auth,
      json: body(),
    });
    expect(missing.status).toBe(400);
    expect((await missing.json()).code).toBe('idempotency_key_required');
    for (const json of [
      { ...body(), amount: '-5' },
      { ...body(), balance: '1' },
      { ...body(), currency: 'usd' },
    ]) {
      const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
        method: 'POST',
        headers: { ...admin.auth, 'idempotency-key': randomUUID() },
        json,
      });
      expect(res.status).toBe(400);
    }
  });

  it("reports the workflow's refusal with its domain code", async () => {
    const admin = await h.user({ roles: ['admin'] });
    const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': randomUUID() },
      json: body('missing-wallet'),
    });
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('wallet_not_found');
  });
});
