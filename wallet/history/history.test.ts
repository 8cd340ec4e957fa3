/* eslint-disable @typescript-eslint/no-unsafe-call -- response bodies are untyped JSON in tests */
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createLogger } from '../../lib/logger.js';
import { createWalletApp } from '../app.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

const deposit = (id: string, amount: string) =>
  h.call('POST', `/internal/wallets/${id}/deposits`, {
    body: { amount, currency: 'USD', reference: `dep ${amount}` },
    key: randomUUID(),
  });

describe('transaction history (MongoDB)', () => {
  it('lists entries newest first with balance_after, debit/credit and transfer ids', async () => {
    const a = await h.wallet('USD');
    const b = await h.wallet('USD');
    await deposit(a, '1000');
    // One hold per transfer id, and the test database outlives a run: a fresh id each time.
    const transferId = `tr-${randomUUID()}`;
    const hold = await h.hold(a, '300', { to: b, transferId });
    const cap = await h.call('POST', `/internal/holds/${hold.body.id}/capture`, {
      body: { to_wallet_id: b },
      key: randomUUID(),
    });
    await h.relay.drainAll();
    const res = await h.call('GET', `/internal/wallets/${a}/transactions`);
    expect(res.status).toBe(200);
    expect(res.body.next_cursor).toBeNull();
    expect(res.body.items).toHaveLength(2);
    expect(res.body.items[0]).toMatchObject({
      transaction_id: cap.body.transaction_id,
      wallet_id: a,
      amount: '300',
      direction: 'debit',
      kind: 'transfer',
      balance_after: '700',
      transfer_id: transferId,
    });
    expect(res.body.items[1]).toMatchObject({
      amount: '1000',
      direction: 'credit',
      kind: 'deposit',
      balance_after: '1000',
    });
    const other = await h.call('GET', `/internal/wallets/${b}/transactions`);
    expect(other.body.items[0]).toMatchObject({
      direction: 'credit',
      amount: '300',
      balance_after: '300',
      transfer_id: transferId,
    });
    expect((await h.call('GET', `/internal/wallets/${randomUUID()}/transactions`)).body.code).toBe(
      'wallet_not_found',
    );
    expect((await h.call('GET', `/internal/wallets/${a}/transactions?cursor=nonsense`)).status).toBe(400);
    expect((await h.call('GET', `/internal/wallets/${a}/transactions?limit=0`)).status).toBe(400);
  });

  it('paginates with an opaque cursor, stable while new entries arrive', async () => {
    const a = await h.wallet('USD');
    for (let i = 1; i <= 7; i++) await deposit(a, String(i));
    await h.relay.drainAll();
    const page1 = await h.call('GET', `/internal/wallets/${a}/transactions?limit=3`);
    expect(page1.body.items.map((e: { amount: string }) => e.amount)).toEqual(['7', '6', '5']);
    // Entries committed after the first page must not shift the following pages.
    await Promise.all([deposit(a, '100'), deposit(a, '200')]);
    await h.relay.drainAll();
    const page2 = await h.call(
      'GET',
      `/internal/wallets/${a}/transactions?limit=3&cursor=${page1.body.next_cursor}`,
    );
    expect(page2.body.items.map((e: { amount: string }) => e.amount)).toEqual(['4', '3', '2']);
    const page3 = await h.call(
      'GET',
      `/internal/wallets/${a}/transactions?limit=3&cursor=${page2.body.next_cursor}`,
    );
    expect(page3.body.items.map((e: { amount: string }) => e.amount)).toEqual(['1']);
    expect(page3.body.next_cursor).toBeNull();
    const fresh = await h.call('GET', `/internal/wallets/${a}/transactions?limit=2`);
    expect(fresh.body.items.map((e: { amount: string }) => e.amount).sort()).toEqual(['100', '200']);
  });

  it('with MongoDB unreachable, money still moves, history answers 503 and readyz says why', async () => {
    const dead = new MongoClient('mongodb://127.0.0.1:9/', { serverSelectionTimeoutMS: 300 });
    try {
      const { app } = createWalletApp({
        db: h.db,
        mongo: dead.db('unreachable'),
        verifier: h.issuer.verifier,
        log: createLogger('wallet-test', 'silent'),
      });
      const w = await h.wallet('USD');
      const auth = { authorization: `Bearer ${h.token}` };
      const dep = await app.request(`/internal/wallets/${w}/deposits`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ amount: '5', currency: 'USD', reference: 'offline' }),
      });
      expect(dep.status).toBe(201);
      const hist = await app.request(`/internal/wallets/${w}/transactions`, { headers: auth });
      expect(hist.status).toBe(503);
      expect(((await hist.json()) as { code: string }).code).toBe('history_unavailable');
      // Issue 11, item 14: money moves without MongoDB, so the service stays ready.
      const ready = await app.request('/readyz');
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        checks: { postgres: true, mongo: false },
        degraded: ['history'],
      });
      // Once MongoDB is back the relay delivers what was queued meanwhile.
      await h.relay.drainAll();
      const back = await h.call('GET', `/internal/wallets/${w}/transactions`);
      expect(back.body.items[0]).toMatchObject({ amount: '5', kind: 'deposit' });
    } finally {
      await dead.close();
    }
  });
});
