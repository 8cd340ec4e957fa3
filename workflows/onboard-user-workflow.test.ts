import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeServices, type FakeServices } from '../activities/testing/fake-activities.js';
import {
  recordHistory,
  startWorkflowTestWorker,
  type WorkflowTestContext,
} from '../workers/testing/workflow-test-env.js';
import { onboardUserWorkflow } from './onboard-user-workflow.js';
import { onboardUserWorkflowId } from './onboarding-contract.js';

let ctx: WorkflowTestContext;
let fake: FakeServices;

beforeAll(async () => {
  fake = createFakeServices();
  ctx = await startWorkflowTestWorker(`onboard-test-${randomUUID()}`, fake.activities);
});

afterAll(async () => {
  await ctx?.stop();
});

function start(registrationId: string) {
  return ctx.env.client.workflow.start(onboardUserWorkflow, {
    taskQueue: ctx.taskQueue,
    workflowId: onboardUserWorkflowId(registrationId),
    args: [{ registration_id: registrationId, currency: 'USD' }],
  });
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe('onboardUserWorkflow', () => {
  it('creates the user, the default wallet, then activates the user', async () => {
    const reg = randomUUID();
    const handle = await start(reg);
    const result = await handle.result();
    expect(result).toEqual({ user_id: `user-${reg}`, wallet_id: `wallet-user-${reg}`, status: 'active' });
    expect(fake.users.get(`user-${reg}`)?.status).toBe('active');
    expect(fake.effects(handle.workflowId)).toEqual(['create_user', 'create_wallet', 'activate_user']);
    expect(handle.workflowId).toBe(`onboard-${reg}`);
    await recordHistory(handle, 'onboard-completed');
  });

  it('disables the user when the wallet cannot be created', async () => {
    const reg = randomUUID();
    fake.inject(onboardUserWorkflowId(reg), 'createWallet', { kind: 'outage' });
    const handle = await start(reg);
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('upstream_unavailable');
    expect(fake.users.get(`user-${reg}`)?.status).toBe('disabled');
    expect(fake.effects(handle.workflowId)).toEqual(['create_user', 'disable_user']);
    await recordHistory(handle, 'onboard-wallet-failed');
  });

  it('answers an already-registered email in the same shape and creates nothing', async () => {
    const reg = `existing-${randomUUID()}`;
    const handle = await start(reg);
    const result = await handle.result();
    expect(result.status).toBe('active');
    expect(result.user_id).toMatch(/^random-/);
    expect(result.wallet_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(fake.effects(handle.workflowId)).toEqual(['create_user:existing']);
    await recordHistory(handle, 'onboard-existing-email');
  });

  it('fails with registration_not_found for an unknown or expired registration', async () => {
    const handle = await start(`missing-${randomUUID()}`);
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('registration_not_found');
    expect(fake.effects(handle.workflowId)).toEqual([]);
    await recordHistory(handle, 'onboard-registration-not-found');
  });

  it('fails loudly when the undo itself fails', async () => {
    const reg = randomUUID();
    fake.inject(onboardUserWorkflowId(reg), 'createWallet', { kind: 'domain', code: 'validation_failed' });
    fake.inject(onboardUserWorkflowId(reg), 'disableUser', { kind: 'outage' });
    const handle = await start(reg);
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('compensation_failed');
    expect(failure.message).toContain(`user-${reg}`);
    expect(fake.users.get(`user-${reg}`)?.status).toBe('pending');
    await recordHistory(handle, 'onboard-compensation-failed');
  });
});
