import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h?.close());

describe('/v1/wallets', () => {
  it("lists only the caller's wallets", async () => {
    const ada = await h.user();
    const bob = await h.user();
    const mine = h.wallet.addWallet(ada.id, 'USD');
    h.wallet.addWallet(bob.id, 'USD');
    const res = await h.request('/v1/wallets', { headers: ada.auth });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect((body.items as { id: string }[]).map((w) => w.id)).toEqual([mine.id]);
    expect(body.items[0].balance).toEqual({ posted: '0', pending: '0', available: '0' });
  });

  it("reads an own wallet; another user's wallet or an unknown id is the same 404", async () => {
    const ada = await h.user();
    const bob = await h.user();
    const adas = h.wallet.addWallet(ada.id);
    const bobs = h.wallet.addWallet(bob.id);
    const own = await h.request(`/v1/wallets/${adas.id}`, { headers: ada.auth });
    expect(own.status).toBe(200);
    expect((await own.json()).id).toBe(adas.id);

    const other = await h.request(`/v1/wallets/${bobs.id}`, { headers: ada.auth });
    const unknown = await h.request(`/v1/wallets/${randomUUID()}`, { headers: ada.auth });
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect((await other.json()).code).toBe('wallet_not_found');
    expect((await unknown.json()).code).toBe('wallet_not_found');

    const history = await h.request(`/v1/wallets/${bobs.id}/transactions`, { headers: ada.auth });
    expect(history.status).toBe(404);
  });

  it('answers concurrent reads of several owners each by its own rule (reads are batched)', async () => {
    const ada = await h.user();
    const bob = await h.user();
    const admin = await h.user({ roles: ['admin'] });
    const adas = h.wallet.addWallet(ada.id);
    const bobs = h.wallet.addWallet(bob.id);
    const unknown = randomUUID();
    const cases = [
      { who: ada, id: adas.id, status: 200 },
      { who: ada, id: bobs.id, status: 404 },
      { who: bob, id: bobs.id, status: 200 },
      { who: bob, id: adas.id, status: 404 },
      { who: admin, id: adas.id, status: 200 },
      { who: ada, id: unknown, status: 404 },
      { who: bob, id: 'not-a-uuid', status: 404 },
      { who: ada, id: adas.id.toUpperCase(), status: 200 },
    ];
    const answers = await Promise.all(
      [...cases, ...cases].map(async (t) => {
        const res = await h.request(`/v1/wallets/${t.id}`, { headers: t.who.auth });
        return { status: res.status, body: await res.json() };
      }),
    );
    answers.forEach((a, i) => {
      const t = cases[i % cases.length]!;
      expect(a.status, `${i}`).toBe(t.status);
      if (t.status === 200) expect(a.body.id).toBe(t.id.toLowerCase());
      else expect(a.body.code).toBe('wallet_not_found');
    });
  });

  it('lets an admin read any wallet', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const bob = await h.user();
    const bobs = h.wallet.addWallet(bob.id);
    const res = await h.request(`/v1/wallets/${bobs.id}`, { headers: admin.auth });
    expect(res.status).toBe(200);
  });

  it('refuses ids that could alter the upstream path', async () => {
    const ada = await h.user();
    for (const id of ['..%2F..%2Finternal%2Freconciliation', 'a'.repeat(65), 'x%00y']) {
      const res = await h.request(`/v1/wallets/${id}`, { headers: ada.auth });
      expect(res.status).toBe(400);
    }
  });

  it('lists transactions of an own wallet with a cursor field', async () => {
    const ada = await h.user();
    const w = h.wallet.addWallet(ada.id);
    const res = await h.request(`/v1/wallets/${w.id}/transactions?limit=10`, { headers: ada.auth });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.items).toHaveLength(1);
    expect(body.next_cursor).toBeNull();
    const bad = await h.request(`/v1/wallets/${w.id}/transactions?limit=1000`, { headers: ada.auth });
    expect(bad.status).toBe(400);
  });

  it('opens a wallet for the caller only (201, then 200 for the same currency)', async () => {
    const ada = await h.user();
    const first = await h.request('/v1/wallets', {
      method: 'POST',
      headers: ada.auth,
      json: { currency: 'EUR' },
    });
    expect(first.status).toBe(201);
    const wallet = await first.json();
    expect(wallet.user_id).toBe(ada.id);
    const again = await h.request('/v1/wallets', {
      method: 'POST',
      headers: ada.auth,
      json: { currency: 'EUR' },
    });
    expect(again.status).toBe(200);
    expect((await again.json()).id).toBe(wallet.id);
  });
});
