/**
 * The activities against the real AuthService (and WalletService for authorize), over HTTP
 * with the real client_credentials token: onboarding, step-up OTP and authorization behave as
 * the workflows expect on the services' actual answers.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strongPassword, uniqueEmail, type Harness } from '../auth/test-support.js';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';
import { startLiveUpstreams, type LiveUpstreams } from './testing/live-upstreams.js';

let auth: Harness;
let wallet: WalletHarness;
let activities: LiveUpstreams['activities'];
let upstreams: LiveUpstreams | undefined;

beforeAll(async () => {
  upstreams = await startLiveUpstreams();
  ({ auth, wallet, activities } = upstreams);
});

afterAll(async () => {
  await upstreams?.close();
});

function workflow(id: string) {
  return {
    run: <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
      new MockActivityEnvironment({ workflowExecution: { workflowId: id, runId: randomUUID() } }).run(
        fn,
        ...args,
      ),
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

async function park(email = uniqueEmail('onboard')): Promise<string> {
  const res = await auth.json(
    'POST',
    '/internal/registrations',
    { email, password: strongPassword() },
    { authorization: `Bearer ${await auth.serviceToken()}`, 'idempotency-key': randomUUID() },
  );
  expect(res.status).toBe(201);
  return String(res.body.registration_id);
}

describe('onboarding activities against AuthService', () => {
  it('creates a pending user from a registration, activates it, and can disable it', async () => {
    const registration = await park();
    const wf = workflow(`onboard-${registration}`);
    const user = await wf.run(activities.createUser, { registration_id: registration });
    expect(user).toMatchObject({ status: 'pending', existing: false });
    // A retried create with the same key answers the same user.
    expect(await wf.run(activities.createUser, { registration_id: registration })).toEqual(user);

    const { wallet_id } = await wf.run(activities.createWallet, { user_id: user.user_id, currency: 'USD' });
    expect((await wallet.call('GET', `/internal/wallets/${wallet_id}`)).body).toMatchObject({
      user_id: user.user_id,
      currency: 'USD',
    });
    expect(await wf.run(activities.activateUser, { user_id: user.user_id })).toEqual({ status: 'active' });
    expect(await wf.run(activities.disableUser, { user_id: user.user_id, reason: 'test' })).toEqual({
      status: 'disabled',
    });
  });

  it('reports an unknown registration as registration_not_found', async () => {
    const err = await failure(
      workflow(`onboard-${randomUUID()}`).run(activities.createUser, { registration_id: randomUUID() }),
    );
    expect(err).toMatchObject({ type: 'registration_not_found', nonRetryable: true });
  });
});

describe('transfer activities against AuthService', () => {
  it('authorizes the owner of an active wallet and asks for step-up at the threshold', async () => {
    const user = await auth.createUser();
    const fromRes = await wallet.call('POST', '/internal/wallets', {
      body: { user_id: user.id, currency: 'USD' },
      key: randomUUID(),
    });
    const from = String(fromRes.body.id);
    const to = await wallet.wallet('USD');
    const wf = workflow(`transfer-${randomUUID()}`);
    const input = {
      transfer_id: randomUUID(),
      from_wallet_id: from,
      to_wallet_id: to,
      currency: 'USD',
      user_id: user.id,
    };

    expect(await wf.run(activities.authorizeTransfer, { ...input, amount: '5000' })).toMatchObject({
      step_up_required: false,
    });
    expect(await wf.run(activities.authorizeTransfer, { ...input, amount: '100000' })).toMatchObject({
      step_up_required: true,
    });
    const over = await failure(wf.run(activities.authorizeTransfer, { ...input, amount: '500001' }));
    expect(over).toMatchObject({ type: 'limit_exceeded', nonRetryable: true });
    const stranger = await auth.createUser();
    const notOwner = await failure(
      wf.run(activities.authorizeTransfer, { ...input, amount: '5000', user_id: stranger.id }),
    );
    expect(notOwner.type).toBe('not_authorized');
  });

  it('sends a step-up code, refuses a wrong one with attempts left, accepts the right one', async () => {
    const user = await auth.createUser();
    const transferId = randomUUID();
    const wf = workflow(`transfer-${transferId}`);
    const challenge = await wf.run(activities.sendStepUpOtp, { user_id: user.id, transfer_id: transferId });
    const code = await auth.latestCode(user.email, 'step_up');
    const wrong = code === '000000' ? '111111' : '000000';

    const err = await failure(
      wf.run(activities.verifyStepUpOtp, {
        challenge_id: challenge.challenge_id,
        user_id: user.id,
        code: wrong,
        try_number: 1,
      }),
    );
    expect(err).toMatchObject({ type: 'otp_invalid', nonRetryable: true });
    expect(err.details?.[0]).toMatchObject({ attempts_left: expect.any(Number) as number });
    expect(
      await wf.run(activities.verifyStepUpOtp, {
        challenge_id: challenge.challenge_id,
        user_id: user.id,
        code,
        try_number: 2,
      }),
    ).toMatchObject({ attempt: 1 });
  });
});
