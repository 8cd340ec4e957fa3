import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, login, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { expectCleanBooks } from '../support/books.js';
import { requiredEnv } from '../support/test-env.js';

interface Wallet {
  id: string;
  balance: { posted: string; pending: string; available: string };
}
interface Transfer {
  id: string;
  status: string;
  failure_code?: string;
  steps: { name: string; status: string; error_code?: string; error?: string }[];
}

/**
 * Attacks on the money routes through the running stack (security issue items 7, 10 and 12):
 * each is refused and leaves the balances as they were.
 */
describe('money attacks through the gateway', () => {
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let admin: string;
  const balance = async (user: RegisteredUser, walletId = user.walletId) =>
    (await api<Wallet>('GET', `/v1/wallets/${walletId}`, { token: user.token })).body.balance;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([registerAndLogin('alice'), registerAndLogin('bob')]);
    admin = await login(requiredEnv('TEST_STACK_ADMIN_EMAIL'), requiredEnv('TEST_STACK_ADMIN_PASSWORD'));
  });
  afterAll(async () => {
    await expectCleanBooks();
  });

  it('credits a bank reference once, whatever Idempotency-Key it is replayed with (item 7)', async () => {
    const reference = `bank-${randomUUID()}`;
    const deposit = (amount: string) =>
      api<{ transaction_id?: string; code?: string }>(
        'POST',
        `/v1/admin/wallets/${alice.walletId}/deposits`,
        {
          token: admin,
          idempotencyKey: randomUUID(),
          body: { amount, currency: 'USD', reference },
        },
      );
    const first = await deposit('10000');
    const second = await deposit('10000');
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.transaction_id).toBe(first.body.transaction_id);
    const other = await deposit('20000');
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('duplicate_reference');
    expect(await balance(alice)).toEqual({ posted: '10000', pending: '0', available: '10000' });
  });

  it('refuses amounts above 2^53 − 1 with 422 amount_too_large and moves nothing (item 12)', async () => {
    for (const amount of ['9007199254740993', '12345678901234567890']) {
      const transfer = await api<{ code: string }>('POST', '/v1/transfers', {
        token: alice.token,
        idempotencyKey: randomUUID(),
        body: { from_wallet_id: alice.walletId, to_wallet_id: bob.walletId, amount, currency: 'USD' },
      });
      expect(transfer.status, amount).toBe(422);
      expect(transfer.headers.get('content-type')).toContain('application/problem+json');
      expect(transfer.body.code).toBe('amount_too_large');
      const deposit = await api<{ code: string }>('POST', `/v1/admin/wallets/${bob.walletId}/deposits`, {
        token: admin,
        idempotencyKey: randomUUID(),
        body: { amount, currency: 'USD', reference: `huge-${randomUUID()}` },
      });
      expect(deposit.status, amount).toBe(422);
      expect(deposit.body.code).toBe('amount_too_large');
    }
    expect(await balance(bob)).toEqual({ posted: '0', pending: '0', available: '0' });
  });

  it("a transfer to another currency's wallet says nothing about that wallet (item 10)", async () => {
    const eur = await api<Wallet>('POST', '/v1/wallets', {
      token: bob.token,
      idempotencyKey: randomUUID(),
      body: { currency: 'EUR' },
    });
    expect(eur.status).toBe(201);
    const before = await balance(alice);
    const res = await api<Transfer>('POST', '/v1/transfers', {
      token: alice.token,
      idempotencyKey: randomUUID(),
      headers: { prefer: 'wait=20' },
      body: { from_wallet_id: alice.walletId, to_wallet_id: eur.body.id, amount: '100', currency: 'USD' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', failure_code: 'currency_mismatch' });
    const read = await api<Transfer>('GET', `/v1/transfers/${res.body.id}`, { token: alice.token });
    const listed = await eventually(
      () => api<{ items: Transfer[] }>('GET', '/v1/transfers?status=failed', { token: alice.token }),
      (r) => r.body.items.some((t) => t.id === res.body.id),
    );
    for (const view of [res.body, read.body, listed.body.items.find((t) => t.id === res.body.id)]) {
      const text = JSON.stringify(view);
      // The destination's currency and the wallet service's internals never reach the payer.
      expect(text).not.toMatch(/EUR|internal|holds|wallet holds/i);
      for (const step of view!.steps) {
        if (step.error_code !== undefined)
          expect(step.error).toBe('the wallets of this transfer cannot exchange this currency');
      }
    }
    expect(read.body.steps.some((s) => s.error_code === 'currency_mismatch')).toBe(true);
    expect(await balance(alice)).toEqual(before);
  });
});
