/**
 * The workflows end to end inside the orchestrator: a worker on the Temporal dev server runs
 * the real activities against the real AuthService and WalletService (in-process apps served
 * over HTTP, the real client_credentials token for auth). What a user would notice: balances,
 * statuses, the OTP they receive.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LIVE_WORKFLOW_INPUT_KEY,
  startLiveUpstreams,
  type LiveUpstreams,
} from '../activities/testing/live-upstreams.js';
import { strongPassword, uniqueEmail, type Harness } from '../auth/testing/harness.js';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';
import {
  startTransferAndWait,
  startWorkflowTestWorker,
  type WorkflowTestContext,
} from '../workers/testing/workflow-test-env.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import { confirmOtp, getTransfer, transferStartOptions, type TransferInput } from './transfer-contract.js';
import { onboardUserWorkflow } from './onboard-user-workflow.js';
import { onboardUserWorkflowId } from './onboarding-contract.js';
import { transferWorkflow } from './transfer-workflow.js';

let auth: Harness;
let wallet: WalletHarness;
let ctx: WorkflowTestContext;
let upstreams: LiveUpstreams | undefined;

beforeAll(async () => {
  upstreams = await startLiveUpstreams();
  ({ auth, wallet } = upstreams);
  ctx = await startWorkflowTestWorker(`transfer-integration-${randomUUID()}`, upstreams.activities);
});

afterAll(async () => {
  await ctx?.stop();
  await upstreams?.close();
});

/**
 * Alice (funded with `funded`) pays Bob `amount`: the transfer input as the gateway signs it;
 * `signature` overrides (an attacker's missing or forged one).
 */
async function alicePaysBobInput(funded: bigint, amount: string, signature?: string) {
  const alice = await auth.createUser();
  const res = await wallet.call('POST', '/internal/wallets', {
    body: { user_id: alice.id, currency: 'USD' },
    key: randomUUID(),
  });
  const from = String(res.body.id);
  if (funded > 0n) {
    const dep = await wallet.call('POST', `/internal/wallets/${from}/deposits`, {
      body: { amount: funded.toString(), currency: 'USD', reference: 'funding' },
      key: randomUUID(),
    });
    expect(dep.status).toBe(201);
  }
  const to = await wallet.wallet('USD');
  const unsigned: Omit<TransferInput, 'signature'> = {
    transfer_id: randomUUID(),
    from_wallet_id: from,
    to_wallet_id: to,
    amount,
    currency: 'USD',
    description: 'dinner',
    initiated_by: {
      user_id: alice.id,
      client_id: 'velora-web',
      token_jti: randomUUID(),
      ip: '203.0.113.7',
      user_agent: 'vitest',
    },
    request_hash: 'sha256:test',
    created_at: new Date().toISOString(),
  };
  const input: TransferInput =
    signature === undefined
      ? signWorkflowInput(unsigned, LIVE_WORKFLOW_INPUT_KEY)
      : { ...unsigned, signature };
  return { alice, from, to, input };
}

/** {@link alicePaysBobInput}, started as the gateway starts it. */
async function alicePaysBob(funded: bigint, amount: string, signature?: string) {
  const { input, ...parties } = await alicePaysBobInput(funded, amount, signature);
  const handle = await ctx.env.client.workflow.start(transferWorkflow, {
    ...transferStartOptions(input),
    taskQueue: ctx.taskQueue,
  });
  return { ...parties, handle };
}

describe('transferWorkflow with the real services', () => {
  it('moves the money once', async () => {
    const { from, to, handle } = await alicePaysBob(10_000n, '2500');
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'reserve:completed',
      'step_up:skipped',
      'capture:completed',
    ]);
    expect(await wallet.balance(from)).toMatchObject({ posted: '7500', available: '7500', pending: '0' });
    expect(await wallet.balance(to)).toMatchObject({ posted: '2500', available: '2500' });
  });

  it('fails with insufficient_funds and moves nothing', async () => {
    const { from, to, handle } = await alicePaysBob(1_000n, '2500');
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });
    expect(await wallet.balance(from)).toMatchObject({ posted: '1000', available: '1000', pending: '0' });
    expect((await wallet.balance(to)).posted).toBe('0');
  });

  it('asks for the OTP the user receives, then completes', async () => {
    const { alice, from, to, handle } = await alicePaysBob(200_000n, '150000');
    for (;;) {
      if ((await handle.query(getTransfer)).status === 'awaiting_confirmation') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const code = await auth.latestCode(alice.email, 'step_up');
    await handle.executeUpdate(confirmOtp, { args: [{ code }] });
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(await wallet.balance(from)).toMatchObject({ posted: '50000', available: '50000' });
    expect((await wallet.balance(to)).posted).toBe('150000');
  });

  it('answers Prefer: wait through Update-with-Start: one call starts and waits', async () => {
    const { to, input } = await alicePaysBobInput(5_000n, '1250');
    const view = await startTransferAndWait(ctx, input);
    expect(view.status).toBe('completed');
    expect((await wallet.balance(to)).posted).toBe('1250');
  });
});

describe('a transferWorkflow started directly on Temporal (not through the gateway)', () => {
  it.each([
    ['no signature', ''],
    ['a forged signature', 'bWFsbG9yeS1mb3JnZWQtdGhpcy1zaWduYXR1cmUtMDEyMzQ1Njc4OQ'],
  ])(
    'with the victim’s user id and %s ends failed / not_authorized; the victim keeps every cent',
    async (_name, signature) => {
      const { from, to, handle } = await alicePaysBob(90_000n, '90000', signature);
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'failed', failure_code: 'not_authorized' });
      expect(result.steps[0]).toMatchObject({
        name: 'reserve',
        status: 'failed',
        error_code: 'not_authorized',
      });
      expect(await wallet.balance(from)).toEqual({ posted: '90000', pending: '0', available: '90000' });
      expect(await wallet.balance(to)).toMatchObject({ posted: '0', available: '0' });
    },
  );
});

describe('onboardUserWorkflow with the real services', () => {
  it('turns a parked registration into an active user who owns a USD wallet', async () => {
    const email = uniqueEmail('onboard');
    const parked = await auth.json(
      'POST',
      '/internal/registrations',
      { email, password: strongPassword() },
      { authorization: `Bearer ${await auth.serviceToken()}`, 'idempotency-key': randomUUID() },
    );
    expect(parked.status).toBe(201);
    const registrationId = String(parked.body.registration_id);
    const result = await ctx.env.client.workflow.execute(onboardUserWorkflow, {
      taskQueue: ctx.taskQueue,
      workflowId: onboardUserWorkflowId(registrationId),
      args: [{ registration_id: registrationId, currency: 'USD' }],
    });
    expect(result.status).toBe('active');
    const user = await auth.json('GET', `/internal/users/${result.user_id}`, undefined, {
      authorization: `Bearer ${await auth.serviceToken()}`,
    });
    expect(user.body).toMatchObject({ email, status: 'active' });
    expect((await wallet.call('GET', `/internal/wallets/${result.wallet_id}`)).body).toMatchObject({
      user_id: result.user_id,
      currency: 'USD',
    });
  });
});
