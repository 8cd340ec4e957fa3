/**
 * A transfer that meets a frozen or closed wallet, through the real activities, AuthService and
 * WalletService: it fails with that wallet's own code and compensates cleanly (nothing moved,
 * nothing held), whether the wallet was frozen or closed before the reserve or between the
 * reserve and the capture (while the transfer waited for its OTP).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LIVE_WORKFLOW_INPUT_KEY,
  startLiveUpstreams,
  type LiveUpstreams,
} from '../activities/testing/live-upstreams.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import { startWorkflowTestWorker, type WorkflowTestContext } from '../workers/testing/workflow-test-env.js';
import { confirmOtp, getTransfer, transferStartOptions, type TransferInput } from './transfer-contract.js';
import { transferWorkflow } from './transfer-workflow.js';

let upstreams: LiveUpstreams;
let ctx: WorkflowTestContext;

beforeAll(async () => {
  upstreams = await startLiveUpstreams();
  ctx = await startWorkflowTestWorker(`transfer-wallet-status-${randomUUID()}`, upstreams.activities);
});

afterAll(async () => {
  await ctx?.stop();
  await upstreams?.close();
});

type Action = 'freeze' | 'close';

async function setStatus(walletId: string, action: Action) {
  const res = await upstreams.wallet.call('POST', `/internal/wallets/${walletId}/${action}`, {
    body: { reason: `test: ${action}`, requested_by: 'admin-test' },
    key: randomUUID(),
  });
  expect(res.status).toBe(200);
}

/** A funded payer (a real AuthService user) paying `amount` to a fresh, empty wallet. */
async function payment(amount: string) {
  const { auth, wallet } = upstreams;
  const payer = await auth.createUser();
  const created = await wallet.call('POST', '/internal/wallets', {
    body: { user_id: payer.id, currency: 'USD' },
    key: randomUUID(),
  });
  const from = String(created.body.id);
  const funded = await wallet.call('POST', `/internal/wallets/${from}/deposits`, {
    body: { amount: '500000', currency: 'USD', reference: 'funding' },
    key: randomUUID(),
  });
  expect(funded.status).toBe(201);
  const to = await wallet.wallet('USD');
  const input: TransferInput = signWorkflowInput(
    {
      transfer_id: randomUUID(),
      from_wallet_id: from,
      to_wallet_id: to,
      amount,
      currency: 'USD',
      description: 'wallet status test',
      initiated_by: {
        user_id: payer.id,
        client_id: 'velora-web',
        token_jti: randomUUID(),
        ip: '203.0.113.9',
        user_agent: 'vitest',
      },
      request_hash: 'sha256:test',
      created_at: new Date().toISOString(),
    },
    LIVE_WORKFLOW_INPUT_KEY,
  );
  const start = () =>
    ctx.env.client.workflow.start(transferWorkflow, {
      ...transferStartOptions(input),
      taskQueue: ctx.taskQueue,
    });
  return { payer, from, to, start };
}

/** Nothing moved and nothing is held: the payer keeps every cent, the payee got none. */
async function expectUntouched(from: string, to: string) {
  expect(await upstreams.wallet.balance(from)).toEqual({
    posted: '500000',
    pending: '0',
    available: '500000',
  });
  expect(await upstreams.wallet.balance(to)).toEqual({ posted: '0', pending: '0', available: '0' });
}

describe('a transfer meeting a frozen or closed wallet', () => {
  it.each([
    ['the destination is frozen', 'to', 'freeze', 'wallet_frozen'],
    ['the source is frozen', 'from', 'freeze', 'wallet_frozen'],
    ['the destination is closed', 'to', 'close', 'wallet_closed'],
  ] as const)('fails at the reserve when %s, with its own code', async (_name, side, action, code) => {
    const p = await payment('2500');
    await setStatus(side === 'to' ? p.to : p.from, action);
    const result = await (await p.start()).result();
    expect(result).toMatchObject({ status: 'failed', failure_code: code });
    expect(result.steps[0]).toMatchObject({ name: 'reserve', status: 'failed', error_code: code });
    expect(result.steps.find((s) => s.name === 'capture')?.status).toBe('pending');
    await expectUntouched(p.from, p.to);
  });

  it.each([
    ['the destination is frozen', 'to', 'freeze', 'wallet_frozen'],
    ['the source is frozen', 'from', 'freeze', 'wallet_frozen'],
    ['the destination is closed', 'to', 'close', 'wallet_closed'],
  ] as const)(
    'is not captured when %s after its reserve: it fails with that code and releases the hold',
    async (_name, side, action, code) => {
      // Above the step-up threshold: the hold is in place while the transfer waits for the OTP.
      const p = await payment('150000');
      const handle = await p.start();
      for (;;) {
        if ((await handle.query(getTransfer)).status === 'awaiting_confirmation') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await upstreams.wallet.balance(p.from)).pending).toBe('150000');
      await setStatus(side === 'to' ? p.to : p.from, action);
      const otp = await upstreams.auth.latestCode(p.payer.email, 'step_up');
      await handle.executeUpdate(confirmOtp, { args: [{ code: otp }] });
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'failed', failure_code: code });
      expect(result.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
        'reserve:compensated',
        'step_up:completed',
        'capture:failed',
      ]);
      expect(result.steps[2]).toMatchObject({ error_code: code });
      // The hold was released even on a frozen source: the payer's money is available again.
      await expectUntouched(p.from, p.to);
    },
  );
});
