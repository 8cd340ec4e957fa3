/* eslint-disable @typescript-eslint/no-unsafe-return -- response bodies are untyped JSON in tests */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

// Holds are placed the way transfers place them (the reserve route); these tests are about what
// happens to a hold afterwards: capture, release, expiry.
const hold = (walletId: string, amount: unknown, opts: Parameters<WalletHarness['hold']>[2] = {}) =>
  h.hold(walletId, amount, opts);
const capture = (holdId: string, to: string, amount?: string, key = randomUUID()) =>
  h.call('POST', `/internal/holds/${holdId}/capture`, {
    body: { to_wallet_id: to, ...(amount ? { amount } : {}) },
    key,
  });
const release = (transferId: string, key = randomUUID()) =>
  h.call('POST', `/internal/transfers/${transferId}/release`, { key });

describe('holds', () => {
  it('reserves, then captures in full into the destination atomically', async () => {
    const a = await h.wallet('USD', 1000n);
    const b = await h.wallet('USD');
    const created = await hold(a, '400');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      wallet_id: a,
      amount: '400',
      captured_amount: '0',
      currency: 'USD',
      status: 'active',
    });
    expect(await h.balance(a)).toEqual({ posted: '1000', pending: '400', available: '600' });
    const cap = await capture(created.body.id, b);
    expect(cap.status).toBe(200);
    expect(cap.body.hold).toMatchObject({ status: 'captured', captured_amount: '400' });
    expect(cap.body.transaction_id).toEqual(expect.any(String));
    expect(await h.balance(a)).toEqual({ posted: '600', pending: '0', available: '600' });
    expect(await h.balance(b)).toEqual({ posted: '400', pending: '0', available: '400' });
    const again = await capture(created.body.id, b);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('hold_not_active');
    const rel = await release(created.transferId);
    expect(rel.status).toBe(409);
    expect(rel.body.code).toBe('hold_already_captured');
  });

  it('a source wallet frozen after the hold was placed cannot send: the capture is refused', async () => {
    const a = await h.wallet('USD', 100n);
    const b = await h.wallet('USD');
    const created = await hold(a, '60');
    await h.call('POST', `/internal/wallets/${a}/freeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect((await capture(created.body.id, b)).body.code).toBe('wallet_frozen');
    expect(await h.balance(a)).toEqual({ posted: '100', pending: '60', available: '40' });
    expect(await h.balance(b)).toEqual({ posted: '0', pending: '0', available: '0' });
    await h.call('POST', `/internal/wallets/${a}/unfreeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect((await capture(created.body.id, b)).status).toBe(200);
  });

  it('partial capture releases the rest', async () => {
    const a = await h.wallet('USD', 1000n);
    const b = await h.wallet('USD');
    const created = await hold(a, '400');
    const cap = await capture(created.body.id, b, '150');
    expect(cap.body.hold).toMatchObject({ status: 'captured', captured_amount: '150', amount: '400' });
    expect(await h.balance(a)).toEqual({ posted: '850', pending: '0', available: '850' });
    expect(await h.balance(b)).toEqual({ posted: '150', pending: '0', available: '150' });
    const h2 = await hold(a, '100');
    expect((await capture(h2.body.id, b, '101')).body.code).toBe('capture_exceeds_hold');
  });

  it('releases idempotently and returns the money to available', async () => {
    const a = await h.wallet('USD', 500n);
    const created = await hold(a, '500');
    expect((await hold(a, '1')).body.code).toBe('insufficient_funds');
    const r1 = await release(created.transferId);
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ released: true, hold: { status: 'released' } });
    const r2 = await release(created.transferId);
    expect(r2.status).toBe(200);
    expect(r2.body).toMatchObject({ released: false, hold: { status: 'released' } });
    expect(await h.balance(a)).toEqual({ posted: '500', pending: '0', available: '500' });
    expect((await capture(created.body.id, await h.wallet('USD'))).body.code).toBe('hold_not_active');
    expect((await release(randomUUID())).body).toEqual({ released: false, hold: null });
  });

  it('refuses frozen wallets, mismatched currencies and the same wallet', async () => {
    const a = await h.wallet('USD', 500n);
    const b = await h.wallet('USD');
    const eur = await h.wallet('EUR');
    const created = await hold(a, '100');
    expect((await capture(created.body.id, eur)).body.code).toBe('currency_mismatch');
    expect((await capture(created.body.id, a)).body.code).toBe('same_wallet');
    expect((await capture(created.body.id, randomUUID())).body.code).toBe('wallet_not_found');
    await h.call('POST', `/internal/wallets/${b}/freeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect((await capture(created.body.id, b)).body.code).toBe('wallet_frozen');
    await h.call('POST', `/internal/wallets/${a}/freeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect((await hold(a, '10')).body.code).toBe('wallet_frozen');
    expect((await hold(await h.wallet('USD', 10n), '10', { currency: 'EUR' })).body.code).toBe(
      'currency_mismatch',
    );
    // Releasing on a frozen wallet only unblocks the owner's own money; it is allowed.
    expect((await release(created.transferId)).status).toBe(200);
    expect(await h.balance(a)).toEqual({ posted: '500', pending: '0', available: '500' });
    expect(await h.balance(b)).toEqual({ posted: '0', pending: '0', available: '0' });
    expect((await hold(randomUUID(), '10')).body.code).toBe('wallet_not_found');
    for (const amount of ['0', '-1', '1.5', 'x', '9223372036854775808'])
      expect((await hold(b, amount)).status).toBe(400);
    for (const ttlSeconds of [0, 7 * 24 * 3600 + 1])
      expect((await hold(b, '1', { ttlSeconds })).status).toBe(400);
  });

  it('replays a reserve after its hold has expired (compensation looks the hold up that way)', async () => {
    const a = await h.wallet('USD', 100n);
    const same = { to: await h.wallet('USD'), transferId: randomUUID(), key: randomUUID(), ttlSeconds: 1 };
    const first = await hold(a, '40', same);
    expect(first.status).toBe(201);
    await new Promise((r) => setTimeout(r, 1100));
    const replay = await hold(a, '40', same);
    expect(replay.status).toBe(201);
    expect(replay.body.id).toBe(first.body.id);
    expect((await release(first.transferId)).status).toBe(200);
  });

  it('expires due holds through the sweep route and refuses to capture them', async () => {
    const a = await h.wallet('USD', 300n);
    const b = await h.wallet('USD');
    const h1 = await hold(a, '100', { ttlSeconds: 2 });
    const h2 = await hold(a, '100', { ttlSeconds: 2 });
    const h3 = await hold(a, '50');
    expect((await h.balance(a)).available).toBe('50');
    await new Promise((r) => setTimeout(r, 2100));
    // h1: the capture itself notices the expiry.
    expect((await capture(h1.body.id, b)).body.code).toBe('hold_not_active');
    const swept = await h.call('POST', '/internal/holds/expire');
    expect(swept.status).toBe(200);
    expect(swept.body.expired).toBeGreaterThanOrEqual(1);
    expect((await release(h2.transferId)).body.hold.status).toBe('expired');
    expect(await h.balance(a)).toEqual({ posted: '300', pending: '50', available: '250' });
    expect((await capture(h3.body.id, b)).status).toBe(200);
  });

  it('idempotency: replay, mismatch and concurrent duplicates for reserve, capture and release', async () => {
    const a = await h.wallet('USD', 1000n);
    const b = await h.wallet('USD');
    const same = { to: b, transferId: randomUUID(), key: randomUUID() };
    const racing = await Promise.all(Array.from({ length: 8 }, () => hold(a, '100', same)));
    expect(racing.every((r) => r.status === 201)).toBe(true);
    expect(new Set(racing.map((r) => r.body.id)).size).toBe(1);
    expect((await h.balance(a)).pending).toBe('100');
    const mismatch = await hold(a, '101', same);
    expect(mismatch.body.code).toBe('idempotency_key_mismatch');
    const holdId = racing[0]!.body.id;
    const capKey = randomUUID();
    const caps = await Promise.all(Array.from({ length: 8 }, () => capture(holdId, b, '60', capKey)));
    expect(caps.every((c) => c.status === 200)).toBe(true);
    expect(new Set(caps.map((c) => c.body.transaction_id)).size).toBe(1);
    expect((await capture(holdId, b, '50', capKey)).body.code).toBe('idempotency_key_mismatch');
    expect(await h.balance(b)).toEqual({ posted: '60', pending: '0', available: '60' });
    const h2 = await hold(a, '10');
    const relKey = randomUUID();
    const rels = await Promise.all(Array.from({ length: 5 }, () => release(h2.transferId, relKey)));
    expect(rels.every((r) => r.status === 200 && r.body.released === true)).toBe(true);
    expect((await h.balance(a)).pending).toBe('0');
    // The same key for another transfer is a different request.
    expect((await release(racing[0]!.transferId, relKey)).body.code).toBe('idempotency_key_mismatch');
  });

  it('50 parallel holds against a balance covering one: exactly one is placed', async () => {
    const a = await h.wallet('USD', 100n);
    const results = await Promise.all(Array.from({ length: 50 }, () => hold(a, '100')));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.body.code === 'insufficient_funds')).toHaveLength(49);
    expect(await h.balance(a)).toEqual({ posted: '100', pending: '100', available: '0' });
  });

  it('50 parallel captures of one hold (different keys) move the money once', async () => {
    const a = await h.wallet('USD', 100n);
    const b = await h.wallet('USD');
    const created = await hold(a, '100');
    const results = await Promise.all(Array.from({ length: 50 }, () => capture(created.body.id, b)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.body.code === 'hold_not_active')).toHaveLength(49);
    expect(await h.balance(b)).toEqual({ posted: '100', pending: '0', available: '100' });
    expect(await h.balance(a)).toEqual({ posted: '0', pending: '0', available: '0' });
  });

  it('rejects bad capture input without touching either wallet', async () => {
    const a = await h.wallet('USD', 100n);
    const b = await h.wallet('USD');
    const created = await hold(a, '60');
    for (const amount of ['0', '-1', '1.5', 'abc', 12, '9223372036854775808']) {
      const res = await h.call('POST', `/internal/holds/${created.body.id}/capture`, {
        body: { to_wallet_id: b, amount },
        key: randomUUID(),
      });
      expect(res.status, String(amount)).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(
      (
        await h.call('POST', `/internal/holds/${created.body.id}/capture`, {
          body: { to_wallet_id: 'b' },
          key: randomUUID(),
        })
      ).status,
    ).toBe(400);
    expect((await capture(randomUUID(), b)).body.code).toBe('hold_not_found');
    expect(await h.balance(a)).toEqual({ posted: '100', pending: '60', available: '40' });
    expect(await h.balance(b)).toEqual({ posted: '0', pending: '0', available: '0' });
  });

  it('opposite transfers A→B and B→A in parallel never deadlock and conserve money', async () => {
    const a = await h.wallet('USD', 10_000n);
    const b = await h.wallet('USD', 10_000n);
    const transfer = async (from: string, to: string) => {
      const created = await hold(from, '7');
      if (created.status !== 201) return created.status;
      return (await capture(created.body.id, to)).status;
    };
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? transfer(a, b) : transfer(b, a))),
    );
    expect(results.every((s) => s === 200)).toBe(true);
    const [ba, bb] = [await h.balance(a), await h.balance(b)];
    expect(BigInt(ba.posted) + BigInt(bb.posted)).toBe(20_000n);
    expect(ba.posted).toBe('10000');
  });
});
