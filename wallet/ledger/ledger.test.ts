/* eslint-disable @typescript-eslint/no-unsafe-return -- response bodies are untyped JSON in tests */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';
import { systemShardOf } from '../wallets/wallets.table.js';

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

// Each deposit names its own bank payment: a deposit is unique per (wallet, reference). A retry of
// one request (same key) keeps its reference, so the reference derives from the key.
const dep = (id: string, amount: unknown, currency: unknown = 'USD', key = randomUUID()) =>
  h.call('POST', `/internal/wallets/${id}/deposits`, {
    body: { amount, currency, reference: `ref ${key}` },
    key,
  });
const wd = (id: string, amount: unknown, currency: unknown = 'USD', key = randomUUID()) =>
  h.call('POST', `/internal/wallets/${id}/withdrawals`, {
    body: { amount, currency, reference: 'ref' },
    key,
  });

describe('deposits and withdrawals', () => {
  it('deposits from funding and withdraws to settlement', async () => {
    const w = await h.wallet('USD');
    const d = await dep(w, '1050');
    expect(d.status).toBe(201);
    expect(d.body.transaction_id).toEqual(expect.any(String));
    expect(d.body.wallet.balance).toEqual({ posted: '1050', pending: '0', available: '1050' });
    const x = await wd(w, '50');
    expect(x.status).toBe(201);
    expect(x.body.wallet.balance.available).toBe('1000');
    const over = await wd(w, '1001');
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('insufficient_funds');
    expect(await h.balance(w)).toEqual({ posted: '1000', pending: '0', available: '1000' });
  });

  it('deposits and withdrawals of different wallets use the system-account shard of their wallet; each shard balances its legs', async () => {
    const wallets = await Promise.all(Array.from({ length: 12 }, () => h.wallet('USD')));
    const deposits = await Promise.all(wallets.map((w, i) => dep(w, String(100 + i))));
    const withdrawals = await Promise.all(wallets.map((w) => wd(w, '10')));
    const ids = [...deposits, ...withdrawals].map((r) => String(r.body.transaction_id));
    const { rows } = await sql<{
      user_wallet: string;
      system: string;
      name: string;
      shard: number;
      amount: string;
    }>`
      select u.wallet_id as user_wallet, s.wallet_id as system, w.system_name as name, w.shard, s.amount::text
      from postings u
      join postings s on s.transaction_id = u.transaction_id and s.wallet_id <> u.wallet_id
      join wallets w on w.id = s.wallet_id
      where u.transaction_id in (${sql.join(ids)}) and u.wallet_id in (${sql.join(wallets)})`.execute(h.db);
    expect(rows).toHaveLength(24);
    for (const r of rows) expect(r.shard).toBe(systemShardOf(r.user_wallet));
    const funding = new Set(rows.filter((r) => r.name === 'funding').map((r) => r.system));
    const settlement = new Set(rows.filter((r) => r.name === 'settlement').map((r) => r.system));
    // 12 wallets over 16 shards: several rows, so deposits of different wallets do not share one lock.
    expect(funding.size).toBe(new Set(wallets.map(systemShardOf)).size);
    expect(funding.size).toBeGreaterThan(1);
    expect(settlement.size).toBe(funding.size);
    for (const w of wallets) expect((await h.balance(w)).posted).toBe(String(100 + wallets.indexOf(w) - 10));
  });

  it('rejects bad amounts and currencies without moving money', async () => {
    const w = await h.wallet('USD', 500n);
    const bad: unknown[] = [
      '0',
      '-5',
      '1.5',
      '10.00',
      'abc',
      '',
      100,
      '9223372036854775808',
      '99999999999999999999',
      '1e3',
      '007',
      null,
    ];
    for (const amount of bad) {
      for (const op of [dep, wd]) {
        const res = await op(w, amount);
        expect(res.status, `amount ${JSON.stringify(amount)}`).toBe(400);
        expect(res.body.code).toBe('validation_failed');
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
    }
    for (const currency of ['XYZ', 'usd', 'US', 12]) {
      const res = await dep(w, '10', currency);
      expect(res.status).toBe(400);
    }
    const mismatch = await dep(w, '10', 'EUR');
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.code).toBe('currency_mismatch');
    const unknown = await dep(randomUUID(), '10');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('wallet_not_found');
    expect(await h.balance(w)).toEqual({ posted: '500', pending: '0', available: '500' });
  });

  it('accepts the largest bigint amount, then refuses overflow with a clear error and no change', async () => {
    // KWD is used by this test only: the funding account returns to its starting point below.
    const w = await h.wallet('KWD');
    const max = '9223372036854775807';
    const big = await dep(w, max, 'KWD');
    expect(big.status).toBe(201);
    const res = await dep(w, '1', 'KWD');
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('amount_out_of_range');
    expect((await h.balance(w)).posted).toBe(max);
    const undo = await h.call('POST', `/internal/transactions/${big.body.transaction_id}/reverse`, {
      body: { reason: 'test' },
      key: randomUUID(),
    });
    expect(undo.status).toBe(201);
    expect((await h.balance(w)).posted).toBe('0');
  });

  it('refuses frozen wallets in both directions', async () => {
    const w = await h.wallet('USD', 100n);
    await h.call('POST', `/internal/wallets/${w}/freeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect((await dep(w, '10')).body.code).toBe('wallet_frozen');
    expect((await wd(w, '10')).body.code).toBe('wallet_frozen');
    await h.call('POST', `/internal/wallets/${w}/unfreeze`, {
      body: { reason: 'test', requested_by: 'test' },
      key: randomUUID(),
    });
    expect((await wd(w, '10')).status).toBe(201);
  });

  it('a deposit is unique per (wallet, reference): a repeat under another key answers the original, another amount is refused', async () => {
    const w = await h.wallet('USD');
    const other = await h.wallet('USD');
    const reference = `bank ${randomUUID()}`;
    const deposit = (wallet: string, amount: string, currency = 'USD') =>
      h.call('POST', `/internal/wallets/${wallet}/deposits`, {
        body: { amount, currency, reference },
        key: randomUUID(),
      });
    const racing = await Promise.all(Array.from({ length: 5 }, () => deposit(w, '700')));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(racing.map((r) => r.body.transaction_id)).size).toBe(1);
    const again = await deposit(w, '700');
    expect(again.status).toBe(200);
    expect(again.body.transaction_id).toBe(racing[0]!.body.transaction_id);
    expect(again.body.wallet.balance.posted).toBe('700');
    for (const res of [await deposit(w, '701'), await deposit(w, '700', 'EUR')]) {
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('duplicate_reference');
    }
    expect(await h.balance(w)).toEqual({ posted: '700', pending: '0', available: '700' });
    // The same bank reference on another wallet is another payment.
    expect((await deposit(other, '701')).status).toBe(201);
  });

  it('replays, refuses mismatches and executes concurrent duplicates once', async () => {
    const w = await h.wallet('USD', 100n);
    const key = randomUUID();
    const first = await wd(w, '30', 'USD', key);
    const replay = await wd(w, '30', 'USD', key);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const mismatch = await wd(w, '31', 'USD', key);
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.code).toBe('idempotency_key_mismatch');
    const otherKey = randomUUID();
    const racing = await Promise.all(Array.from({ length: 10 }, () => dep(w, '5', 'USD', otherKey)));
    expect(new Set(racing.map((r) => r.body.transaction_id)).size).toBe(1);
    expect(racing.every((r) => r.status === 201)).toBe(true);
    expect((await h.balance(w)).posted).toBe('75');
    // A stored failure replays as the same failure.
    const failKey = randomUUID();
    expect((await wd(w, '1000', 'USD', failKey)).body.code).toBe('insufficient_funds');
    await dep(w, '5000');
    expect((await wd(w, '1000', 'USD', failKey)).body.code).toBe('insufficient_funds');
  });

  it('50 parallel withdrawals against a balance covering one: exactly one succeeds', async () => {
    const w = await h.wallet('USD', 100n);
    const results = await Promise.all(Array.from({ length: 50 }, () => wd(w, '100')));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 422 && r.body.code === 'insufficient_funds')).toHaveLength(49);
    expect(await h.balance(w)).toEqual({ posted: '0', pending: '0', available: '0' });
  });

  it('100 concurrent mixed operations on one wallet lose no update', async () => {
    const w = await h.wallet('USD', 1000n);
    const ops = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? dep(w, '7') : wd(w, '13')));
    const results = await Promise.all(ops);
    const deposits = results.filter((r, i) => i % 2 === 0 && r.status === 201).length;
    const withdrawals = results.filter((r, i) => i % 2 === 1 && r.status === 201).length;
    expect(deposits).toBe(50);
    const b = await h.balance(w);
    expect(BigInt(b.posted)).toBe(1000n + 7n * BigInt(deposits) - 13n * BigInt(withdrawals));
    expect(BigInt(b.available)).toBeGreaterThanOrEqual(0n);
  });
});

describe('reversals', () => {
  it('reverses a deposit once, refusing when the balance no longer covers it', async () => {
    const w = await h.wallet('USD');
    const d = await dep(w, '300');
    const r = await h.call('POST', `/internal/transactions/${d.body.transaction_id}/reverse`, {
      body: { reason: 'chargeback' },
      key: randomUUID(),
    });
    expect(r.status).toBe(201);
    expect((await h.balance(w)).posted).toBe('0');
    const twice = await h.call('POST', `/internal/transactions/${d.body.transaction_id}/reverse`, {
      body: { reason: 'again' },
      key: randomUUID(),
    });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('reversal_not_possible');
    const ofReversal = await h.call('POST', `/internal/transactions/${r.body.transaction_id}/reverse`, {
      body: { reason: 'x' },
      key: randomUUID(),
    });
    expect(ofReversal.body.code).toBe('reversal_not_possible');

    const d2 = await dep(w, '300');
    await wd(w, '200');
    const refused = await h.call('POST', `/internal/transactions/${d2.body.transaction_id}/reverse`, {
      body: { reason: 'x' },
      key: randomUUID(),
    });
    expect(refused.body.code).toBe('reversal_not_possible');
    expect(await h.balance(w)).toEqual({ posted: '100', pending: '0', available: '100' });
    const missing = await h.call('POST', `/internal/transactions/${randomUUID()}/reverse`, {
      body: { reason: 'x' },
      key: randomUUID(),
    });
    expect(missing.status).toBe(404);
  });

  it('concurrent reversals of one transaction reverse it once', async () => {
    const w = await h.wallet('USD');
    const d = await dep(w, '300');
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        h.call('POST', `/internal/transactions/${d.body.transaction_id}/reverse`, {
          body: { reason: 'dup' },
          key: randomUUID(),
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect((await h.balance(w)).posted).toBe('0');
  });
});
