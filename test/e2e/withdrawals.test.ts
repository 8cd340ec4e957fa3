import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveId } from '../../gateway/temporal/idempotency.js';
import { dataConverterFromConfig } from '../../lib/payload-codec.js';
import { signPayoutWebhook } from '../../lib/payout-webhook-signature.js';
import { PROFILES } from '../../scripts/stack/profile.js';
import { envExampleDefaults } from '../../scripts/stack/services.js';
import { settleLatePayout, withdrawalWorkflowId } from '../../workflows/withdrawal-contract.js';
import { api, eventually, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { expectCleanBooks } from '../support/books.js';
import { depositAsAdmin } from '../support/funding.js';
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
const simHeaders = { authorization: `Bearer ${defaults.PAYOUT_PROVIDER_API_KEY}` };

/** Tells the running payout-sim to misbehave for one reference. */
async function fault(rule: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${SIM}/admin/faults`, {
    method: 'POST',
    headers: { ...simHeaders, 'content-type': 'application/json' },
    body: JSON.stringify(rule),
  });
  expect(res.status).toBe(201);
}

/** What the provider itself says about a payout (the rail's side of the books). */
async function atProvider(reference: string): Promise<{ status: string; provider_payout_id: string }> {
  const res = await fetch(`${SIM}/v1/payouts/${reference}`, { headers: simHeaders });
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; provider_payout_id: string };
}

/**
 * A withdrawal through the whole stack: gateway → withdrawalWorkflow → WalletService hold →
 * payout-sim (a separate process) → its signed webhook back through the gateway → capture into
 * payouts:USD. The books must stay exact.
 */
describe('withdrawals through the stack and the payout provider', () => {
  let alice: RegisteredUser;
  let temporal: Client;
  beforeAll(async () => {
    alice = await registerAndLogin('withdrawer');
    await depositAsAdmin(alice.walletId, '20000', 'e2e-withdrawals');
    // The operator's tool: a Temporal client with the stack's payload keys (the CLI does the same
    // through the codec server).
    const connection = await Connection.connect({ address: requiredEnv('TEST_STACK_TEMPORAL_ADDRESS') });
    temporal = new Client({
      connection,
      dataConverter: dataConverterFromConfig({ PAYLOAD_CODEC_KEYS: defaults.PAYLOAD_CODEC_KEYS }),
    });
  });
  afterAll(async () => {
    await temporal?.connection.close();
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
  const reach = (id: string, statuses: string[], token = alice.token) =>
    eventually(
      () => api<Withdrawal>('GET', `/v1/withdrawals/${id}`, { token }),
      (r) => r.status === 200 && statuses.includes(r.body.status),
      60_000,
    );
  const settle = (id: string) => reach(id, ['completed', 'failed', 'needs_attention']);
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

  it('cancelled while it awaits its code: released, never paid out; once submitted a cancel is refused', async () => {
    const bob = await registerAndLogin('withdraw-canceller');
    await depositAsAdmin(bob.walletId, '300000', 'e2e-withdrawals');
    const start = (amount: string, key = randomUUID()) =>
      api<Withdrawal>('POST', `/v1/wallets/${bob.walletId}/withdrawals`, {
        token: bob.token,
        idempotencyKey: key,
        headers: { prefer: 'wait=20' },
        body: {
          amount,
          currency: 'USD',
          destination: { account_holder: 'Bob Example', iban: 'DE89370400440532013000' },
        },
      });
    const cancel = (id: string) =>
      api<Withdrawal & { code?: string }>('POST', `/v1/withdrawals/${id}/cancel`, { token: bob.token });
    const bobBalance = async () =>
      (
        await api<{ balance: Record<string, string> }>('GET', `/v1/wallets/${bob.walletId}`, {
          token: bob.token,
        })
      ).body.balance;

    // At the step-up threshold: it waits for the OTP, the funds held.
    const large = await start('150000');
    await reach(large.body.id, ['awaiting_confirmation'], bob.token);
    expect((await bobBalance()).available).toBe('150000');
    const cancelled = await cancel(large.body.id);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', failure_code: 'cancelled_by_user' });
    expect(await bobBalance()).toEqual({ posted: '300000', pending: '0', available: '300000' });
    // Cancelling it again answers it as it is; the provider never heard of it.
    expect((await cancel(large.body.id)).body.status).toBe('cancelled');
    expect((await fetch(`${SIM}/v1/payouts/${large.body.id}`, { headers: simHeaders })).status).toBe(404);

    // Submitted: the provider decides.
    const key = randomUUID();
    const id = deriveId('withdrawal', bob.userId, key);
    await fault({ fault: 'late', reference: id, delay_ms: 8_000 }); // decided at ~2 s, reported at ~10 s (< 15 s)
    expect((await start('1000', key)).status).toBe(202);
    await reach(id, ['submitted'], bob.token);
    const refused = await cancel(id);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('cannot_cancel');
    await reach(id, ['completed'], bob.token);
    expect(await bobBalance()).toEqual({ posted: '299000', pending: '0', available: '299000' });
  });

  // The test stack waits 15 s for the provider's result and watches 40 s more for a late one
  // (WITHDRAWAL_PAYOUT_TIMEOUT_MS, WITHDRAWAL_LATE_RESULT_WINDOW_MS in scripts/stack/profile.ts).

  it('the provider never reports its decision: released at the deadline (payout_timeout), the rail agrees', async () => {
    const key = randomUUID();
    const id = deriveId('withdrawal', alice.userId, key);
    // The provider rejects it and its webhook never goes out: only the deadline ends the wait.
    await fault({ fault: 'reject', reference: id });
    await fault({ fault: 'no_result', reference: id });
    expect((await withdraw(key, '1200')).status).toBe(202);
    const done = await settle(id);
    expect(done.body).toMatchObject({ status: 'failed', failure_code: 'payout_timeout' });
    expect(done.body.steps.find((s) => s.name === 'payout')).toMatchObject({
      status: 'failed',
      error_code: 'payout_timeout',
    });
    expect(await balance()).toEqual({ posted: '17500', pending: '0', available: '17500' });
    expect((await atProvider(id)).status).toBe('rejected');
    await expectCleanBooks();
  });

  it('settled after the release: needs_attention with the books exact, then the operator books it with settleLatePayout', async () => {
    const key = randomUUID();
    const id = deriveId('withdrawal', alice.userId, key);
    // Settled ~2 s after the submit, reported 25 s later: after the 15 s deadline, within the watch.
    await fault({ fault: 'settle', reference: id });
    await fault({ fault: 'late', reference: id, delay_ms: 25_000 });
    expect((await withdraw(key, '1300')).status).toBe(202);
    expect((await settle(id)).body).toMatchObject({ status: 'failed', failure_code: 'payout_timeout' });
    expect(await balance()).toEqual({ posted: '17500', pending: '0', available: '17500' });

    const parked = await reach(id, ['needs_attention']);
    const paid = await atProvider(id);
    expect(paid.status).toBe('settled');
    expect(parked.body).toMatchObject({
      failure_code: 'payout_timeout',
      provider_reference: paid.provider_payout_id,
    });
    expect(parked.body).not.toHaveProperty('attention'); // the evidence is for operators only
    // Velora's books are exact (the hold was released); only the rail is ahead of them.
    expect(await balance()).toEqual({ posted: '17500', pending: '0', available: '17500' });
    await expectCleanBooks();

    const handle = temporal.workflow.getHandle(withdrawalWorkflowId(id));
    const booked = await handle.executeUpdate(settleLatePayout, { args: [{ note: 'e2e ticket' }] });
    expect(booked).toMatchObject({ status: 'completed', provider_reference: paid.provider_payout_id });
    expect(booked.attention).toBeUndefined();
    const done = await reach(id, ['completed']);
    expect(done.body.failure_code).toBeUndefined();
    expect(await balance()).toEqual({ posted: '16200', pending: '0', available: '16200' });
    // Booked once: the withdrawal is closed, asking again is refused and moves nothing.
    await expect(
      handle.executeUpdate(settleLatePayout, { args: [{ note: 'e2e ticket' }] }),
    ).rejects.toThrow();
    expect(await balance()).toEqual({ posted: '16200', pending: '0', available: '16200' });
    await expectCleanBooks();
  });
});
