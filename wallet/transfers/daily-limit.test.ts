import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

/**
 * The rolling daily limit read from `daily_limit_debits` (migration 0010): held now + captured in
 * the current UTC hour and the 24 before it. Time passing is simulated by moving a wallet's
 * counter rows back by whole hours (their `hour` and `slot`, as a later hour would find them).
 */
let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

const LIMITS = { per_transfer: '1000', daily: '1000' };

async function party(funded = 0n) {
  const wallet = await h.wallet('USD', funded);
  const res = await h.call('GET', `/internal/wallets/${wallet}`);
  return { wallet, user: String(res.body.user_id) };
}

type Party = Awaited<ReturnType<typeof party>>;

function reserve(from: Party, to: Party, amount: string) {
  return h.call('POST', `/internal/transfers/${randomUUID()}/reserve`, {
    body: {
      user_id: from.user,
      from_wallet_id: from.wallet,
      to_wallet_id: to.wallet,
      amount,
      currency: 'USD',
      limits: LIMITS,
      hold_ttl_seconds: 3600,
    },
    key: randomUUID(),
  });
}

async function capture(holdId: string, to: Party, amount?: string) {
  const res = await h.call('POST', `/internal/holds/${holdId}/capture`, {
    body: { to_wallet_id: to.wallet, ...(amount ? { amount } : {}) },
    key: randomUUID(),
  });
  expect(res.status).toBe(200);
}

/** Makes the wallet's counted captures `hours` older. */
async function age(wallet: string, hours: number) {
  await sql`
    update daily_limit_debits set hour = hour - ${hours}, slot = ((hour - ${hours}) % 25)::smallint
    where wallet_id = ${wallet}`.execute(h.db);
}

describe('the rolling daily limit', () => {
  it('counts a capture for the current UTC hour and the 24 before it, then no longer', async () => {
    const a = await party(10_000n);
    const b = await party();
    await capture((await reserve(a, b, '900')).body.hold.id, b);
    expect((await reserve(a, b, '101')).body).toMatchObject({ code: 'limit_exceeded', limit: 'daily' });
    await age(a.wallet, 24);
    // 24 hours later (its hour is the oldest of the 25 counted) it still counts...
    expect((await reserve(a, b, '101')).body).toMatchObject({ code: 'limit_exceeded', limit: 'daily' });
    await age(a.wallet, 1);
    // ...and one hour after that it no longer does.
    expect((await reserve(a, b, '1000')).status).toBe(201);
  });

  it('counts what a partial capture moved, and nothing of a released hold', async () => {
    const a = await party(10_000n);
    const b = await party();
    await capture((await reserve(a, b, '800')).body.hold.id, b, '300');
    const released = await reserve(a, b, '700');
    expect(released.status).toBe(201);
    expect(
      (
        await h.call('POST', `/internal/transfers/${released.body.hold.transfer_id}/release`, {
          key: randomUUID(),
        })
      ).status,
    ).toBe(200);
    // 300 captured, nothing held: 700 more fits, 701 does not.
    expect((await reserve(a, b, '701')).body).toMatchObject({ code: 'limit_exceeded', limit: 'daily' });
    expect((await reserve(a, b, '700')).status).toBe(201);
  });

  it('adds captures of the same hour in one row and starts a reused slot afresh', async () => {
    const a = await party(10_000n);
    const b = await party();
    await capture((await reserve(a, b, '100')).body.hold.id, b);
    await capture((await reserve(a, b, '200')).body.hold.id, b);
    const rows = async () =>
      (
        await sql<{
          amount: string;
        }>`select amount::text from daily_limit_debits where wallet_id = ${a.wallet}`.execute(h.db)
      ).rows.map((r) => r.amount);
    expect(await rows()).toEqual(['300']);
    // 25 hours later the same slot comes round again: its old amount is out of the window.
    await age(a.wallet, 25);
    await capture((await reserve(a, b, '50')).body.hold.id, b);
    expect(await rows()).toEqual(['50']);
    expect((await reserve(a, b, '951')).body).toMatchObject({ code: 'limit_exceeded', limit: 'daily' });
    expect((await reserve(a, b, '950')).status).toBe(201);
  });
});
