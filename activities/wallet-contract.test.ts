/**
 * The activities against the real WalletService (its app on the test PostgreSQL and MongoDB,
 * served over HTTP, called with the real HTTP client): the SAGA's promises hold on the actual
 * idempotency and hold semantics, not only on the in-memory model the workflow tests use.
 */
import { randomUUID } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, type HttpClient } from '../lib/http-client.js';
import { createWalletHarness, type WalletHarness } from '../wallet/testing/wallet-harness.js';
import { createActivities } from './index.js';

let harness: WalletHarness;
let server: ServerType;
let activities: ReturnType<typeof createActivities>;

const unusedAuth: HttpClient = {
  name: 'auth',
  request: () => Promise.reject(new Error('auth is not part of this test')),
};

beforeAll(async () => {
  harness = await createWalletHarness();
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: harness.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(info.port),
    );
  });
  const wallet = createHttpClient({
    name: 'wallet',
    baseUrl: `http://127.0.0.1:${port}`,
    token: async () => harness.token,
  });
  activities = createActivities({ auth: unusedAuth, wallet, config: { transferStepUpThreshold: 100_000n } });
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await harness?.close();
});

/**
 * Runs activities as attempts of one workflow: the same workflow id gives the same idempotency
 * keys, exactly like a retried activity.
 */
function workflow(id = `transfer-${randomUUID()}`) {
  return () => {
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: id, runId: randomUUID() } });
    return {
      run: <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
        env.run(fn, ...args),
    };
  };
}

async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

function reserveInput(walletId: string, amount: string) {
  return {
    transfer_id: randomUUID(),
    wallet_id: walletId,
    amount,
    currency: 'USD',
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
  };
}

describe('transfer activities against WalletService', () => {
  it('reserve → capture moves the money once, even when every step is retried', async () => {
    const from = await harness.wallet('USD', 10_000n);
    const to = await harness.wallet('USD');
    const env = workflow();
    const input = reserveInput(from, '2500');

    const hold = await env().run(activities.reserveFunds, input);
    const again = await env().run(activities.reserveFunds, input); // a retry after a lost answer
    expect(again.hold_id).toBe(hold.hold_id);
    expect(await harness.balance(from)).toMatchObject({ posted: '10000', available: '7500' });

    const capture = { hold_id: hold.hold_id, to_wallet_id: to, amount: '2500' };
    const first = await env().run(activities.captureFunds, capture);
    const second = await env().run(activities.captureFunds, capture);
    expect(second.transaction_id).toBe(first.transaction_id);
    expect(await harness.balance(from)).toMatchObject({ posted: '7500', available: '7500' });
    expect(await harness.balance(to)).toMatchObject({ posted: '2500', available: '2500' });
  });

  it('releases a hold whose reserve answer was lost, found again by the reserve key', async () => {
    const from = await harness.wallet('USD', 10_000n);
    const env = workflow();
    const input = reserveInput(from, '4000');
    await env().run(activities.reserveFunds, input); // placed; pretend the answer never arrived
    expect((await harness.balance(from)).available).toBe('6000');

    expect(await env().run(activities.releaseFunds, input)).toMatchObject({ released: true });
    expect(await env().run(activities.releaseFunds, input)).toMatchObject({ released: true }); // idempotent
    expect(await harness.balance(from)).toMatchObject({ posted: '10000', available: '10000' });
  });

  it('refuses a reserve beyond the balance as non-retryable insufficient_funds', async () => {
    const from = await harness.wallet('USD', 1_000n);
    const err = await failure(workflow()().run(activities.reserveFunds, reserveInput(from, '2500')));
    expect(err).toMatchObject({ type: 'insufficient_funds', nonRetryable: true });
    expect((await harness.balance(from)).available).toBe('1000');
  });

  it('refuses a capture into a frozen wallet, after which the hold is released', async () => {
    const from = await harness.wallet('USD', 10_000n);
    const to = await harness.wallet('USD');
    expect((await harness.call('POST', `/internal/wallets/${to}/freeze`, { key: randomUUID() })).status).toBe(
      200,
    );
    const env = workflow();
    const input = reserveInput(from, '3000');
    const { hold_id } = await env().run(activities.reserveFunds, input);

    const err = await failure(
      env().run(activities.captureFunds, { hold_id, to_wallet_id: to, amount: '3000' }),
    );
    expect(err).toMatchObject({ type: 'wallet_frozen', nonRetryable: true });
    await env().run(activities.releaseFunds, { ...input, hold_id });
    expect(await harness.balance(from)).toMatchObject({ posted: '10000', available: '10000' });
    expect((await harness.balance(to)).posted).toBe('0');
  });

  it('finalize records the auth log and audit trace (accepted)', async () => {
    const transferId = randomUUID();
    const res = await workflow(`transfer-${transferId}`)().run(activities.finalizeTransfer, {
      transfer_id: transferId,
      initiated_by: {
        user_id: randomUUID(),
        client_id: 'velora-web',
        token_jti: randomUUID(),
        ip: '203.0.113.7',
        user_agent: 'vitest',
      },
      step_up: true,
      audit: [
        { transfer_id: transferId, step: 'authorize', status: 'completed', attempt: 1, duration_ms: 5 },
      ],
    });
    expect(res).toEqual({ attempt: 1 });
  });

  it('deposits once per workflow and reads the outgoing volume', async () => {
    const id = await harness.wallet('USD');
    const env = workflow(`deposit-${randomUUID()}`);
    const input = { wallet_id: id, amount: '700', currency: 'USD', reference: 'bank-ref' };
    const first = await env().run(activities.depositFunds, input);
    const again = await env().run(activities.depositFunds, input);
    expect(again.transaction_id).toBe(first.transaction_id);
    expect(await harness.balance(id)).toMatchObject({ posted: '700', available: '700' });
  });

  it('runs the hold-expiry sweep', async () => {
    const res = await workflow(`hold-expiry-${randomUUID()}`)().run(activities.expireHolds);
    expect(typeof res.expired).toBe('number');
  });
});
