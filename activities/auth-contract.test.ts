/**
 * The activities against the real AuthService (and WalletService for reserve), over HTTP with
 * the real client_credentials token: onboarding, step-up OTP and the initiator check behave as
 * the workflows expect on the services' actual answers.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strongPassword, uniqueEmail, type Harness } from '../auth/testing/harness.js';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import { LIVE_WORKFLOW_INPUT_KEY, startLiveUpstreams, type LiveUpstreams } from './testing/live-upstreams.js';
import { failure, workflow } from './testing/mock-activity.js';

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
  it('reserve refuses an initiator AuthService does not know as not_authorized, holding nothing', async () => {
    const from = await wallet.wallet('USD', 10_000n);
    const to = await wallet.wallet('USD');
    const transferId = randomUUID();
    const transfer = signWorkflowInput(
      {
        transfer_id: transferId,
        from_wallet_id: from,
        to_wallet_id: to,
        amount: '500',
        currency: 'USD',
        description: 'ghost',
        initiated_by: {
          user_id: randomUUID(),
          client_id: 'velora-web',
          token_jti: randomUUID(),
          ip: '203.0.113.7',
          user_agent: 'vitest',
        },
        request_hash: 'sha256:test',
        created_at: new Date().toISOString(),
      },
      LIVE_WORKFLOW_INPUT_KEY,
    );
    const err = await failure(
      workflow(`transfer-${transferId}`).run(activities.reserveTransfer, {
        transfer,
        hold_ttl_seconds: 3600,
      }),
    );
    expect(err).toMatchObject({ type: 'not_authorized', nonRetryable: true });
    expect(await wallet.balance(from)).toMatchObject({ available: '10000', pending: '0' });
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
