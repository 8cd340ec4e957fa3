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

const LIMITS = { per_transfer: '500000', daily: '10000' };

async function owner(wallet: string): Promise<string> {
  return String((await h.call('GET', `/internal/wallets/${wallet}`)).body.user_id);
}

async function reserve(id: string, wallet: string, amount: string, extra: Record<string, unknown> = {}) {
  return h.call('POST', `/internal/withdrawals/${id}/reserve`, {
    body: {
      user_id: await owner(wallet),
      wallet_id: wallet,
      amount,
      currency: 'USD',
      limits: LIMITS,
      hold_ttl_seconds: 3600,
      ...extra,
    },
    key: `${id}:reserve`,
  });
}

const capture = (id: string, key = `${id}:capture`) =>
  h.call('POST', `/internal/withdrawals/${id}/capture`, { body: { provider_reference: `PO-${id}` }, key });
const release = (id: string) =>
  h.call('POST', `/internal/transfers/${id}/release`, { body: {}, key: `${id}:release` });

/** Balance of the `payouts` account of USD, all shards. */
async function payouts(): Promise<bigint> {
  const { rows } = await sql<{ posted: string | null }>`
    select sum(posted)::text as posted from wallets where kind = 'system' and system_name = 'payouts' and currency = 'USD'`.execute(
    h.db,
  );
  return BigInt(rows[0]?.posted ?? '0');
}

describe('withdrawal ledger operations', () => {
  it('reserve holds the amount; capture moves it into payouts:USD in one balanced withdrawal transaction', async () => {
    const wallet = await h.wallet('USD', 5000n);
    const id = randomUUID();
    const before = await payouts();
    const held = await reserve(id, wallet, '3000');
    expect(held.status).toBe(201);
    expect(await h.balance(wallet)).toMatchObject({ posted: '5000', pending: '3000', available: '2000' });

    const captured = await capture(id);
    expect(captured.status).toBe(200);
    expect(await h.balance(wallet)).toMatchObject({ posted: '2000', pending: '0', available: '2000' });
    expect((await payouts()) - before).toBe(3000n);
    const { rows } = await sql<{ kind: string; sum: string }>`
      select t.kind, sum(p.amount)::text as sum from journal_transactions t join postings p on p.transaction_id = t.id
      where t.id = ${String(captured.body.transaction_id)}::uuid group by t.kind`.execute(h.db);
    expect(rows).toEqual([{ kind: 'withdrawal', sum: '0' }]);

    // The same key answers the same capture; another key finds the hold captured.
    expect((await capture(id)).body.transaction_id).toBe(captured.body.transaction_id);
    expect((await capture(id, randomUUID())).body.code).toBe('hold_already_captured');
    expect(await h.balance(wallet)).toMatchObject({ posted: '2000', pending: '0' });
  });

  it('a released withdrawal frees the funds, is never captured afterwards and never reserved again', async () => {
    const wallet = await h.wallet('USD', 5000n);
    const id = randomUUID();
    expect((await reserve(id, wallet, '4000')).status).toBe(201);
    const released = await release(id);
    expect(released.body).toMatchObject({ released: true });
    const late = await capture(id);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('hold_not_active');
    const again = await h.call('POST', `/internal/withdrawals/${id}/reserve`, {
      body: {
        user_id: await owner(wallet),
        wallet_id: wallet,
        amount: '4000',
        currency: 'USD',
        limits: LIMITS,
        hold_ttl_seconds: 3600,
      },
      key: randomUUID(),
    });
    expect(again.body.code).toBe('transfer_released');
    expect(await h.balance(wallet)).toMatchObject({ posted: '5000', pending: '0', available: '5000' });
  });

  it('refuses what a transfer reserve refuses: another user, insufficient funds, the daily limit counting captured withdrawals', async () => {
    const wallet = await h.wallet('USD', 20000n);
    const stranger = await reserve(randomUUID(), wallet, '100', { user_id: randomUUID() });
    expect(stranger.body.code).toBe('not_authorized');
    const tooMuch = await reserve(randomUUID(), wallet, '20001', {
      limits: { per_transfer: '99999', daily: '99999' },
    });
    expect(tooMuch.body.code).toBe('insufficient_funds');

    const first = randomUUID();
    expect((await reserve(first, wallet, '6000')).status).toBe(201);
    expect((await capture(first)).status).toBe(200);
    // 6000 captured today + 5000 > the daily 10000, although the wallet still holds 14000.
    const over = await reserve(randomUUID(), wallet, '5000');
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({ code: 'limit_exceeded', limit: 'daily' });
    expect(await h.balance(wallet)).toMatchObject({ posted: '14000', pending: '0' });
  });

  it('a withdrawal in another currency than the wallet is refused and holds nothing', async () => {
    const wallet = await h.wallet('USD', 1000n);
    const res = await reserve(randomUUID(), wallet, '100', { currency: 'EUR' });
    expect(res.body.code).toBe('currency_mismatch');
    expect(await h.balance(wallet)).toMatchObject({ pending: '0' });
  });

  it('withdrawals and transfers share one daily limit: a captured withdrawal is counted by a transfer reserve', async () => {
    const wallet = await h.wallet('USD', 20000n);
    const id = randomUUID();
    expect((await reserve(id, wallet, '7000')).status).toBe(201);
    expect((await capture(id)).status).toBe(200);
    const transfer = await h.call('POST', `/internal/transfers/${randomUUID()}/reserve`, {
      body: {
        user_id: await owner(wallet),
        from_wallet_id: wallet,
        to_wallet_id: await h.wallet('USD'),
        amount: '4000',
        currency: 'USD',
        limits: LIMITS,
        hold_ttl_seconds: 3600,
      },
      key: randomUUID(),
    });
    // 7000 withdrawn + 4000 > the daily 10000.
    expect(transfer.status).toBe(422);
    expect(transfer.body).toMatchObject({ code: 'limit_exceeded', limit: 'daily' });
  });
});
