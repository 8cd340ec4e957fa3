import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { expectCleanBooks } from '../support/books.js';
import { depositAsAdmin, loginAsAdmin } from '../support/funding.js';

interface Reversal {
  id: string;
  transfer_id: string;
  attempt: number;
  status: string;
  amount?: string;
  failure_code?: string;
  transaction_id?: string;
}

interface Balance {
  posted: string;
  pending: string;
  available: string;
}

/**
 * An operator's reversal through the whole stack: gateway → reversalWorkflow on the worker →
 * WalletService's hold and capture. Refused while the payee no longer holds the amount, asked
 * again with a new key once it does, the money goes back once; the books stay exact.
 */
describe('reversals through the stack', () => {
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let carol: RegisteredUser;
  let admin: string;
  beforeAll(async () => {
    [alice, bob, carol] = await Promise.all([
      registerAndLogin('reversal-payer'),
      registerAndLogin('reversal-payee'),
      registerAndLogin('reversal-third'),
    ]);
    await depositAsAdmin(alice.walletId, '10000', 'e2e-reversals');
    admin = await loginAsAdmin();
  });

  const pay = async (from: RegisteredUser, to: RegisteredUser, amount: string) => {
    const res = await api<{ id: string; status: string }>('POST', '/v1/transfers', {
      token: from.token,
      idempotencyKey: randomUUID(),
      headers: { prefer: 'wait=10' },
      body: { from_wallet_id: from.walletId, to_wallet_id: to.walletId, amount, currency: 'USD' },
    });
    expect(res.body.status).toBe('completed');
    return res.body.id;
  };
  const reverse = (transferId: string, key: string, reason: string) =>
    api<Reversal>('POST', `/v1/admin/transfers/${transferId}/reversal`, {
      token: admin,
      idempotencyKey: key,
      body: { reason },
    });
  const balance = async (user: RegisteredUser) =>
    (await api<{ balance: Balance }>('GET', `/v1/wallets/${user.walletId}`, { token: user.token })).body
      .balance;

  it('refuses while the payee spent the amount, and moves it back once on the attempt asked after', async () => {
    const transferId = await pay(alice, bob, '3000');
    await pay(bob, carol, '2000');

    const firstKey = randomUUID();
    const refused = await reverse(transferId, firstKey, 'paid the wrong person (ticket 31)');
    expect(refused.status).toBe(202);
    expect(refused.body).toMatchObject({
      id: `reversal-${transferId}`,
      attempt: 1,
      status: 'failed',
      failure_code: 'reversal_insufficient_funds',
    });
    expect(await balance(bob)).toEqual({ posted: '1000', pending: '0', available: '1000' });

    // Carol gives it back; the operator asks again with a new key.
    await pay(carol, bob, '2000');
    const secondKey = randomUUID();
    const done = await reverse(transferId, secondKey, 'paid the wrong person (ticket 31), asked again');
    expect(done.status).toBe(202);
    expect(done.body).toMatchObject({
      id: `reversal-${transferId}.attempt-2`,
      attempt: 2,
      status: 'completed',
      amount: '3000',
      transaction_id: expect.any(String),
    });
    expect(await balance(bob)).toEqual({ posted: '0', pending: '0', available: '0' });
    expect((await balance(alice)).posted).toBe('10000');

    // Each key answers its own attempt; no third attempt after a completed one.
    expect((await reverse(transferId, firstKey, 'paid the wrong person (ticket 31)')).body).toMatchObject({
      attempt: 1,
      status: 'failed',
    });
    const third = await reverse(transferId, randomUUID(), 'once more');
    expect(third.status).toBe(409);
    expect((third.body as unknown as { code: string }).code).toBe('reversal_exists');
    expect((await balance(alice)).posted).toBe('10000');

    // Both users see the reversal in their history.
    for (const [user, direction] of [
      [alice, 'credit'],
      [bob, 'debit'],
    ] as const) {
      const entries = await eventually(
        () =>
          api<{ items: { kind: string; direction: string; amount: string }[] }>(
            'GET',
            `/v1/wallets/${user.walletId}/transactions`,
            { token: user.token },
          ),
        (r) => r.status === 200 && r.body.items.some((e) => e.kind === 'reversal'),
      );
      expect(entries.body.items.filter((e) => e.kind === 'reversal')).toEqual([
        expect.objectContaining({ direction, amount: '3000' }),
      ]);
    }
    await expectCleanBooks();
  });
});
