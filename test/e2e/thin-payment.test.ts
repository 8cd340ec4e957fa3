import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, eventually, login, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { requiredEnv } from '../support/test-env.js';
import { expectCleanBooks } from '../support/books.js';

interface Wallet {
  id: string;
  user_id: string;
  currency: string;
  balance: { posted: string; pending: string; available: string };
}
interface Transfer {
  id: string;
  status: string;
  amount: string;
  steps: { name: string; status: string }[];
}

/**
 * The thin payment through all four services and Temporal, driven only through the public
 * gateway API: register → login → deposit → transfer → query → balances → MongoDB logs.
 */
describe('a payment through the whole stack', () => {
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let adminToken: string;
  const mongo = new MongoClient(requiredEnv('TEST_STACK_MONGO_URL'));

  beforeAll(async () => {
    [alice, bob] = await Promise.all([registerAndLogin('alice'), registerAndLogin('bob')]);
    adminToken = await login(requiredEnv('TEST_STACK_ADMIN_EMAIL'), requiredEnv('TEST_STACK_ADMIN_PASSWORD'));
    await mongo.connect();
  });
  afterAll(async () => {
    await mongo.close();
  });

  it('registers users with a default wallet', async () => {
    expect(alice.userId).toMatch(/[0-9a-f-]{36}/);
    const wallets = await api<{ items: Wallet[] }>('GET', '/v1/wallets', { token: alice.token });
    expect(wallets.status).toBe(200);
    expect(wallets.body.items.map((w) => w.id)).toContain(alice.walletId);
    const me = await api<{ user_id: string; email: string }>('GET', '/v1/auth/me', { token: alice.token });
    expect(me.body).toMatchObject({ user_id: alice.userId, email: alice.email });
  });

  it('moves money once: deposit, transfer, balances and history', async () => {
    const depositKey = randomUUID();
    const deposit = await api('POST', `/v1/admin/wallets/${alice.walletId}/deposits`, {
      token: adminToken,
      idempotencyKey: depositKey,
      body: { amount: '10000', currency: 'USD', reference: `e2e-${depositKey}` },
    });
    expect(deposit.status).toBe(201);

    const transferKey = randomUUID();
    const started = await api<Transfer>('POST', '/v1/transfers', {
      token: alice.token,
      idempotencyKey: transferKey,
      headers: { prefer: 'wait=20' },
      body: {
        from_wallet_id: alice.walletId,
        to_wallet_id: bob.walletId,
        amount: '2500',
        currency: 'USD',
        description: 'lunch',
      },
    });
    expect([200, 201, 202]).toContain(started.status);
    const transferId = started.body.id;

    const done = await eventually(
      () => api<Transfer>('GET', `/v1/transfers/${transferId}`, { token: alice.token }),
      (r) =>
        r.status === 200 && ['completed', 'failed', 'cancelled', 'needs_attention'].includes(r.body.status),
    );
    expect(done.body.status).toBe('completed');
    expect(done.body.amount).toBe('2500');

    const a = await api<Wallet>('GET', `/v1/wallets/${alice.walletId}`, { token: alice.token });
    const b = await api<Wallet>('GET', `/v1/wallets/${bob.walletId}`, { token: bob.token });
    expect(a.body.balance).toEqual({ posted: '7500', pending: '0', available: '7500' });
    expect(b.body.balance).toEqual({ posted: '2500', pending: '0', available: '2500' });

    // The same key and body again: the same transfer, no second movement.
    const replay = await api<Transfer>('POST', '/v1/transfers', {
      token: alice.token,
      idempotencyKey: transferKey,
      body: {
        from_wallet_id: alice.walletId,
        to_wallet_id: bob.walletId,
        amount: '2500',
        currency: 'USD',
        description: 'lunch',
      },
    });
    expect(replay.body.id).toBe(transferId);
    const again = await api<Wallet>('GET', `/v1/wallets/${alice.walletId}`, { token: alice.token });
    expect(again.body.balance.posted).toBe('7500');

    // The journal reached MongoDB through the outbox relay: deposit + debit for Alice, credit for Bob.
    const history = mongo.db(requiredEnv('TEST_STACK_MONGO_DB')).collection('transaction_history');
    const aliceDocs = await eventually(
      () => history.find({ wallet_id: alice.walletId }).toArray(),
      (docs) => docs.length >= 2,
    );
    expect(aliceDocs).toHaveLength(2);
    const bobDocs = await eventually(
      () => history.find({ wallet_id: bob.walletId }).toArray(),
      (docs) => docs.length >= 1,
    );
    expect(bobDocs).toHaveLength(1);

    const entries = await api<{ items: { amount: string; direction: string }[] }>(
      'GET',
      `/v1/wallets/${alice.walletId}/transactions?limit=10`,
      { token: alice.token },
    );
    expect(entries.status).toBe(200);
    expect(entries.body.items.map((e) => [e.direction, e.amount])).toEqual([
      ['debit', '2500'],
      ['credit', '10000'],
    ]);
  });

  it('leaves the books clean (reconciliation finds nothing)', async () => {
    await expectCleanBooks();
  });

  it('answers every response with a request id and errors as problem+json', async () => {
    const res = await fetch(`${requiredEnv('TEST_GATEWAY_URL')}/v1/wallets`, {
      headers: { 'x-request-id': 'e2e-check-1' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toBe('e2e-check-1');
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = (await res.json()) as { code: string; status: number };
    expect(body).toMatchObject({ status: 401 });
    expect(typeof body.code).toBe('string');
  });
});
