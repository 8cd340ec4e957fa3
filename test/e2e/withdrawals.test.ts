import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { deriveId } from '../../gateway/temporal/idempotency.js';
import { signPayoutWebhook } from '../../lib/payout-webhook-signature.js';
import { PROFILES } from '../../scripts/stack/profile.js';
import { envExampleDefaults } from '../../scripts/stack/services.js';
import { api, eventually, login, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { expectCleanBooks } from '../support/books.js';
import { requiredEnv } from '../support/test-env.js';

interface Withdrawal {
  id: string;
  status: string;
  failure_code?: string;
  provider_reference?: string;
  steps: { name: string; status: string; attempts: number }[];
}

const SIM = `http://127.0.0.1:${PROFILES.test.ports.payoutSim}`;
const defaults = envExampleDefaults();

/** Tells the running payout-sim to misbehave for one reference. */
async function fault(rule: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${SIM}/admin/faults`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${defaults.PAYOUT_PROVIDER_API_KEY}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(rule),
  });
  expect(res.status).toBe(201);
}

/**
 * A withdrawal through the whole stack: gateway → withdrawalWorkflow → WalletService hold →
 * payout-sim (a separate process) → its signed webhook back through the gateway → capture into
 * payouts:USD. The books must stay exact.
 */
describe('withdrawals through the stack and the payout provider', () => {
  let alice: RegisteredUser;
  beforeAll(async () => {
    alice = await registerAndLogin('withdrawer');
    const admin = await login(
      requiredEnv('TEST_STACK_ADMIN_EMAIL'),
      requiredEnv('TEST_STACK_ADMIN_PASSWORD'),
    );
    const deposit = await api('POST', `/v1/admin/wallets/${alice.walletId}/deposits`, {
      token: admin,
      idempotencyKey: randomUUID(),
      body: { amount: '20000', currency: 'USD', reference: `e2e-${randomUUID()}` },
    });
    expect(deposit.status).toBe(201);
  });

  const withdraw = (key: string, amount: string) =>
    api<Withdrawal>('POST', `/v1/wallets/${alice.walletId}/withdrawals`, {
      token: alice.token,
      idempotencyKey: key,
      body: {
        amount,
        currency: 'USD',
        destination: { account_holder: 'Alice Example', iban: 'DE89 3704 0044 0532 0130 00' },
      },
    });
  const settle = (id: string) =>
    eventually(
      () => api<Withdrawal>('GET', `/v1/withdrawals/${id}`, { token: alice.token }),
      (r) => r.status === 200 && ['completed', 'failed', 'needs_attention'].includes(r.body.status),
      60_000,
    );
  const balance = async () =>
    (
      await api<{ balance: Record<string, string> }>('GET', `/v1/wallets/${alice.walletId}`, {
        token: alice.token,
      })
    ).body.balance;

  it('settles: the provider answers 5xx twice, then pays once and its webhook arrives twice; captured once', async () => {
    const key = randomUUID();
    const id = deriveId('withdrawal', alice.userId, key);
    await fault({ fault: 'submit_5xx', reference: id, times: 2 });
    await fault({ fault: 'duplicate', reference: id });
    const started = await withdraw(key, '2500');
    expect(started.status).toBe(202);
    expect(started.body.id).toBe(id);
    const done = await settle(id);
    expect(done.body).toMatchObject({ status: 'completed' });
    expect(done.body.provider_reference).toMatch(/^po_/);
    expect(done.body.steps.find((s) => s.name === 'submit')?.attempts).toBe(3);
    expect(await balance()).toEqual({ posted: '17500', pending: '0', available: '17500' });
    // The same key and body: the same withdrawal, nothing moves again.
    const replay = await withdraw(key, '2500');
    expect(replay.body.id).toBe(id);
    expect(await balance()).toEqual({ posted: '17500', pending: '0', available: '17500' });
  });

  it('rejected by the provider: the hold is released and nothing moved', async () => {
    const key = randomUUID();
    const id = deriveId('withdrawal', alice.userId, key);
    await fault({ fault: 'reject', reference: id });
    expect((await withdraw(key, '1000')).status).toBe(202);
    const done = await settle(id);
    expect(done.body).toMatchObject({ status: 'failed', failure_code: 'payout_rejected' });
    expect(await balance()).toEqual({ posted: '17500', pending: '0', available: '17500' });
  });

  it('a forged webhook is refused and changes nothing', async () => {
    const event = {
      event_id: `evt_${randomUUID()}`,
      reference: randomUUID(),
      provider_payout_id: 'po_forged',
      status: 'settled',
      amount: '1',
      currency: 'USD',
      occurred_at: new Date().toISOString(),
    };
    const forged = signPayoutWebhook(
      JSON.stringify(event),
      'not-the-provider-secret-0123456789abcdef',
      Date.now() / 1000,
    );
    const res = await api('POST', '/v1/webhooks/payouts', {
      body: event,
      headers: { 'x-payout-signature': forged },
    });
    expect(res.status).toBe(401);
    await expectCleanBooks();
  });
});
