import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFakeServices,
  FAKE_WORKFLOW_INPUT_KEY,
  type FakeServices,
} from '../activities/testing/fake-activities.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import {
  recordHistory,
  startWorkflowTestWorker,
  type WorkflowTestContext,
} from '../workers/testing/workflow-test-env.js';
import { depositWorkflowId, type DepositInput } from './deposit-contract.js';
import { depositWorkflow } from './deposit-workflow.js';
import { holdExpiryWorkflow } from './hold-expiry-workflow.js';

let ctx: WorkflowTestContext;
let fake: FakeServices;

beforeAll(async () => {
  fake = createFakeServices();
  ctx = await startWorkflowTestWorker(`deposit-test-${randomUUID()}`, fake.activities);
});

afterAll(async () => {
  await ctx?.stop();
});

/** A deposit as the gateway starts it: signed with the worker's key (unless `signature` is given). */
function start(input: DepositInput, signature?: string) {
  const signed = signWorkflowInput(input, FAKE_WORKFLOW_INPUT_KEY);
  return ctx.env.client.workflow.start(depositWorkflow, {
    taskQueue: ctx.taskQueue,
    workflowId: depositWorkflowId(input.wallet_id, input.reference),
    args: [signature === undefined ? signed : { ...input, signature }],
  });
}

describe('depositWorkflow', () => {
  it('credits the wallet once and records the audit trace', async () => {
    const walletId = `w-${randomUUID()}`;
    fake.addWallet({ id: walletId, user_id: 'user-carol', balance: 100n });
    const handle = await start({
      wallet_id: walletId,
      amount: '5000',
      currency: 'USD',
      reference: 'bank-1',
      requested_by: 'admin',
    });
    const result = await handle.result();
    expect(result).toMatchObject({
      wallet_id: walletId,
      amount: '5000',
      balance: { posted: '5100', available: '5100' },
    });
    expect(fake.balance(walletId)).toEqual({ available: 5_100n, posted: 5_100n });
    expect(fake.effects(handle.workflowId)).toEqual(['deposit', 'audit']);
    expect(handle.workflowId).toBe(`deposit-${walletId}-bank-1`);
    await recordHistory(handle, 'deposit-completed');
  });

  it('fails with the wallet’s code (frozen) and moves nothing', async () => {
    const walletId = `w-${randomUUID()}`;
    fake.addWallet({ id: walletId, user_id: 'user-carol', balance: 100n, status: 'frozen' });
    const handle = await start({
      wallet_id: walletId,
      amount: '5000',
      currency: 'USD',
      reference: 'bank-2',
      requested_by: 'admin',
    });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(ApplicationFailure);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('wallet_frozen');
    expect(fake.balance(walletId)).toEqual({ available: 100n, posted: 100n });
    await recordHistory(handle, 'deposit-refused');
  });
});

describe('depositWorkflow started without the gateway', () => {
  it.each([
    ['no signature', ''],
    ['a forged signature', 'Zm9yZ2VkLXNpZ25hdHVyZS1vZi1tYWxsb3J5'],
  ])('fails not_authorized with %s and credits nothing', async (_name, signature) => {
    const walletId = `w-${randomUUID()}`;
    fake.addWallet({ id: walletId, user_id: 'user-mallory', balance: 0n });
    const handle = await start(
      {
        wallet_id: walletId,
        amount: '100000000',
        currency: 'USD',
        reference: 'mint',
        requested_by: 'mallory',
      },
      signature,
    );
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('not_authorized');
    expect(fake.balance(walletId)).toEqual({ available: 0n, posted: 0n });
    expect(fake.effects(handle.workflowId)).toEqual(['audit']);
    if (signature === '') await recordHistory(handle, 'deposit-unsigned');
  });
});

describe('holdExpiryWorkflow', () => {
  it('runs the sweep', async () => {
    const handle = await ctx.env.client.workflow.start(holdExpiryWorkflow, {
      taskQueue: ctx.taskQueue,
      workflowId: `hold-expiry-test-${randomUUID()}`,
    });
    expect(await handle.result()).toEqual({ expired: 0 });
    expect(fake.effects(handle.workflowId)).toEqual(['expire_holds']);
    await recordHistory(handle, 'hold-expiry');
  });
});
