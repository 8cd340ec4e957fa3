import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import protos from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFakeServices,
  FAKE_OTP_CODE,
  FAKE_WORKFLOW_INPUT_KEY,
  type FakeServices,
} from '../activities/testing/fake-activities.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import { searchAttributes } from '../temporal-config/index.js';
import {
  recordHistory,
  startWorkflowTestWorker,
  type WorkflowTestContext,
} from '../workers/testing/workflow-test-env.js';
import {
  cancelWithdrawal,
  confirmWithdrawalOtp,
  getWithdrawal,
  payoutResult,
  resolveWithdrawal,
  retryWithdrawal,
  settleLatePayout,
  withdrawalStartOptions,
  type PayoutResult,
  type Withdrawal,
  type WithdrawalInput,
  type WithdrawalStatus,
} from './withdrawal-contract.js';
import { withdrawalWorkflow } from './withdrawal-workflow.js';

const ALICE = 'user-alice';
let ctx: WorkflowTestContext;
let fake: FakeServices;

beforeAll(async () => {
  fake = createFakeServices();
  fake.addUser({ user_id: ALICE });
  ctx = await startWorkflowTestWorker(`withdrawal-test-${randomUUID()}`, fake.activities);
});
afterAll(async () => {
  await ctx?.stop();
});

function wallet(balance = 1_000_000n): string {
  const id = `w-${randomUUID()}`;
  fake.addWallet({ id, user_id: ALICE, balance });
  return id;
}

function input(walletId: string, amount: string, extra: Partial<WithdrawalInput> = {}): WithdrawalInput {
  return signWorkflowInput(
    {
      withdrawal_id: randomUUID(),
      wallet_id: walletId,
      amount,
      currency: 'USD',
      destination: { account_holder: 'Alice Example', iban: 'DE89370400440532013000' },
      description: 'to my bank',
      initiated_by: {
        user_id: ALICE,
        client_id: 'velora-web',
        token_jti: randomUUID(),
        ip: '203.0.113.7',
        user_agent: 'vitest',
      },
      created_at: new Date().toISOString(),
      payout_timeout_ms: 60_000,
      late_result_window_ms: 60_000,
      ...extra,
    },
    FAKE_WORKFLOW_INPUT_KEY,
  );
}

function start(i: WithdrawalInput): Promise<WorkflowHandle<typeof withdrawalWorkflow>> {
  return ctx.env.client.workflow.start(withdrawalWorkflow, {
    ...withdrawalStartOptions(i),
    taskQueue: ctx.taskQueue,
  });
}

async function reach(handle: WorkflowHandle, status: WithdrawalStatus): Promise<Withdrawal> {
  for (;;) {
    const w = await handle.query(getWithdrawal);
    if (w.status === status) return w;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const result = (
  i: WithdrawalInput,
  status: 'settled' | 'rejected',
  extra: Partial<PayoutResult> = {},
): PayoutResult => ({
  event_id: `evt-${i.withdrawal_id}-${status}`,
  status,
  provider_payout_id: `po-${i.withdrawal_id}`,
  amount: i.amount,
  currency: i.currency,
  occurred_at: new Date().toISOString(),
  ...extra,
});

const { EventType } = protos.temporal.api.enums.v1;

async function eventTypes(handle: WorkflowHandle) {
  return ((await handle.fetchHistory()).events ?? []).map((e) => e.eventType);
}

/** Resolves once the run's history holds an event of `type`. */
async function historyHas(
  handle: WorkflowHandle,
  type: protos.temporal.api.enums.v1.EventType,
): Promise<void> {
  while (!(await eventTypes(handle)).includes(type)) await new Promise((r) => setTimeout(r, 100));
}

/** Resolves once every signal sent so far was handled by a workflow task that completed. */
async function signalsHandled(handle: WorkflowHandle): Promise<void> {
  for (;;) {
    const types = await eventTypes(handle);
    const lastSignal = types.lastIndexOf(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
    if (types.slice(lastSignal + 1).includes(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('withdrawalWorkflow', () => {
  it('settled: reserve, submit once, capture into payouts:USD; the books are exact', async () => {
    const w = wallet(10_000n);
    const i = input(w, '2500');
    const captured = fake.payouts.captured;
    const handle = await start(i);
    await reach(handle, 'submitted');
    await handle.signal(payoutResult, result(i, 'settled'));
    const done = await handle.result();
    expect(done).toMatchObject({ status: 'completed', provider_reference: `po-${i.withdrawal_id}` });
    expect(done.destination).toEqual({ account_holder: 'Alice Example', iban_last4: '3000' });
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'submit', 'capture']);
    expect(fake.balance(w)).toEqual({ available: 7_500n, posted: 7_500n });
    expect(fake.payouts.captured - captured).toBe(2_500n);
    await recordHistory(handle, 'withdrawal-completed');
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.WithdrawalStatus)).toBe('completed');
  });

  it('a duplicate webhook (same event twice) captures once', async () => {
    const w = wallet(10_000n);
    const i = input(w, '1000');
    const handle = await start(i);
    await reach(handle, 'submitted');
    await handle.signal(payoutResult, result(i, 'settled'));
    await handle.signal(payoutResult, result(i, 'settled'));
    expect((await handle.result()).status).toBe('completed');
    expect(fake.effects(handle.workflowId).filter((e) => e === 'capture')).toHaveLength(1);
    await recordHistory(handle, 'withdrawal-duplicate-result');
    expect(fake.balance(w)).toEqual({ available: 9_000n, posted: 9_000n });
  });

  it('rejected by the provider: the hold is released, failed payout_rejected, nothing moved', async () => {
    const w = wallet(10_000n);
    const i = input(w, '4000');
    const handle = await start(i);
    await reach(handle, 'submitted');
    await handle.signal(payoutResult, result(i, 'rejected', { reason: 'beneficiary_account_closed' }));
    const done = await handle.result();
    expect(done).toMatchObject({ status: 'failed', failure_code: 'payout_rejected' });
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'submit', 'release']);
    expect(fake.balance(w)).toEqual({ available: 10_000n, posted: 10_000n });
    await recordHistory(handle, 'withdrawal-rejected');
  });

  it('the provider answers 5xx then accepts: one payout at the provider, completed', async () => {
    const w = wallet(10_000n);
    const i = input(w, '1500');
    const handle = await start(i);
    fake.inject(handle.workflowId, 'submitPayout', { kind: 'flaky' });
    await reach(handle, 'submitted');
    await handle.signal(payoutResult, result(i, 'settled'));
    const done = await handle.result();
    expect(done.status).toBe('completed');
    // The 503 recorded nothing at the provider; the retry (attempt 2) was its only payout.
    expect(done.steps.find((s) => s.name === 'submit')).toMatchObject({ status: 'completed', attempts: 2 });
    expect(fake.payouts.submitted.get(i.withdrawal_id)).toBe(1);
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'submit', 'capture']);
    await recordHistory(handle, 'withdrawal-submit-retried');
  });

  it('provider timeout: the funds are released (payout_timeout); a late settlement parks it in needs_attention with the evidence', async () => {
    const w = wallet(10_000n);
    const i = input(w, '3000', { payout_timeout_ms: 1_000, late_result_window_ms: 600_000 });
    const handle = await start(i);
    const failed = await reach(handle, 'failed');
    expect(failed.failure_code).toBe('payout_timeout');
    expect(fake.balance(w)).toEqual({ available: 10_000n, posted: 10_000n });

    const late = result(i, 'settled');
    await handle.signal(payoutResult, late);
    const parked = await reach(handle, 'needs_attention');
    expect(parked.attention).toMatchObject({ reason: 'late_settlement', evidence: late });
    expect((await handle.describe()).typedSearchAttributes.get(searchAttributes.WithdrawalStatus)).toBe(
      'needs_attention',
    );
    // The operator debited the wallet by hand (runbook) and closes it as completed.
    await handle.signal(resolveWithdrawal, { outcome: 'completed', note: 'debited by ops ticket 42' });
    expect((await handle.result()).status).toBe('completed');
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'submit', 'release']);
    await recordHistory(handle, 'withdrawal-late-settlement-resolved');
  });

  it("a late settlement is booked by the operator's settleLatePayout: the wallet is debited into payouts:USD once, completed", async () => {
    const w = wallet(10_000n);
    const i = input(w, '3000', { payout_timeout_ms: 1_000, late_result_window_ms: 600_000 });
    const captured = fake.payouts.captured;
    const handle = await start(i);
    await reach(handle, 'failed');
    // Not parked yet: nothing to book.
    await expect(
      handle.executeUpdate(settleLatePayout, { args: [{ note: 'ticket 7' }] }),
    ).rejects.toMatchObject({
      cause: { type: 'not_awaiting_late_payout' },
    });
    await handle.signal(payoutResult, result(i, 'settled'));
    await reach(handle, 'needs_attention');
    const booked = await handle.executeUpdate(settleLatePayout, { args: [{ note: 'ticket 7' }] });
    expect(booked).toMatchObject({ status: 'completed', provider_reference: `po-${i.withdrawal_id}` });
    expect(booked.failure_code).toBeUndefined();
    expect(booked.attention).toBeUndefined();
    expect(booked.steps.find((s) => s.name === 'capture')).toMatchObject({ status: 'completed' });
    expect((await handle.result()).status).toBe('completed');
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'submit', 'release', 'late-capture']);
    expect(fake.balance(w)).toEqual({ available: 7_000n, posted: 7_000n });
    expect(fake.payouts.captured - captured).toBe(3_000n);
    await recordHistory(handle, 'withdrawal-late-settlement-booked');
  });

  it('a late settlement the wallet can no longer cover: settleLatePayout is refused, the withdrawal stays parked', async () => {
    const w = wallet(3_000n);
    const late = input(w, '3000', { payout_timeout_ms: 1_000, late_result_window_ms: 600_000 });
    const handle = await start(late);
    await reach(handle, 'failed');
    // The released funds are spent on a second withdrawal before the provider's late answer.
    const second = await start(input(w, '3000'));
    await reach(second, 'submitted');
    await handle.signal(payoutResult, result(late, 'settled'));
    await reach(handle, 'needs_attention');
    await expect(
      handle.executeUpdate(settleLatePayout, { args: [{ note: 'ticket 8' }] }),
    ).rejects.toMatchObject({
      cause: { type: 'insufficient_funds' },
    });
    const parked = await handle.query(getWithdrawal);
    expect(parked).toMatchObject({ status: 'needs_attention', attention: { reason: 'late_settlement' } });
    expect(parked.steps.find((s) => s.name === 'capture')).toMatchObject({
      status: 'failed',
      error_code: 'insufficient_funds',
    });
    expect(fake.balance(w)).toEqual({ available: 0n, posted: 3_000n });
    // The operator recovered the payout from the provider instead.
    await handle.signal(resolveWithdrawal, { outcome: 'failed', note: 'recalled, ticket 8' });
    expect(await handle.result()).toMatchObject({ status: 'failed', failure_code: 'payout_timeout' });
    await recordHistory(handle, 'withdrawal-late-settlement-refused');
    await second.terminate('test over');
  });

  it('a settlement for another amount waits for the operator only: a retry does not end it, and resolved failed it releases the hold', async () => {
    const w = wallet(10_000n);
    const i = input(w, '3000');
    const handle = await start(i);
    await reach(handle, 'submitted');
    await handle.signal(payoutResult, result(i, 'settled', { amount: '2999' }));
    const parked = await reach(handle, 'needs_attention');
    expect(parked.attention).toMatchObject({ reason: 'settlement_mismatch' });
    expect(fake.balance(w)).toEqual({ available: 7_000n, posted: 10_000n });
    // A retry has nothing to retry here: the withdrawal goes on waiting for the decision.
    await handle.signal(retryWithdrawal);
    await signalsHandled(handle);
    expect(await handle.query(getWithdrawal)).toMatchObject({
      status: 'needs_attention',
      attention: { reason: 'settlement_mismatch' },
    });
    // The operator recovered the payout from the provider.
    await handle.signal(resolveWithdrawal, { outcome: 'failed', note: 'recalled, ticket 10' });
    const done = await handle.result();
    expect(done).toMatchObject({ status: 'failed' });
    expect(done.steps.find((s) => s.name === 'reserve')).toMatchObject({ status: 'compensated' });
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'submit', 'release']);
    expect(fake.balance(w)).toEqual({ available: 10_000n, posted: 10_000n });
    await recordHistory(handle, 'withdrawal-settlement-mismatch-resolved-failed');
  });

  it('a resolveWithdrawal sent while settleLatePayout books the payout is ignored: the booking decides', async () => {
    const w = wallet(10_000n);
    const i = input(w, '3000', { payout_timeout_ms: 1_000, late_result_window_ms: 600_000 });
    const handle = await start(i);
    await reach(handle, 'failed');
    await handle.signal(payoutResult, result(i, 'settled'));
    await reach(handle, 'needs_attention');
    const gate = `late-booking-${i.withdrawal_id}`;
    fake.inject(handle.workflowId, 'captureLatePayout', { kind: 'block', gate });
    const booking = handle.executeUpdate(settleLatePayout, { args: [{ note: 'ticket 11' }] });
    await fake.reached(gate);
    // The booking's update is accepted with the workflow task that runs the local activity, at
    // its first heartbeat; a signal before that would fail the task and abort the update.
    await historyHas(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
    await handle.signal(resolveWithdrawal, { outcome: 'failed', note: 'recalled, ticket 11' });
    await signalsHandled(handle);
    fake.open(gate);
    expect(await booking).toMatchObject({ status: 'completed' });
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    expect(fake.balance(w)).toEqual({ available: 7_000n, posted: 7_000n });
    await recordHistory(handle, 'withdrawal-resolve-during-late-booking');
  });

  it('cancelled by the user while it awaits its code: released, cancelled_by_user, never submitted', async () => {
    const w = wallet(1_000_000n);
    const i = input(w, '150000');
    const handle = await start(i);
    await reach(handle, 'awaiting_confirmation');
    const cancelled = await handle.executeUpdate(cancelWithdrawal);
    expect(cancelled).toMatchObject({ status: 'cancelled', failure_code: 'cancelled_by_user' });
    expect(cancelled.steps.find((s) => s.name === 'step_up')).toMatchObject({
      status: 'failed',
      error_code: 'cancelled_by_user',
    });
    expect((await handle.result()).status).toBe('cancelled');
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'otp_send', 'release']);
    expect(fake.payouts.submitted.has(i.withdrawal_id)).toBe(false);
    expect(fake.balance(w)).toEqual({ available: 1_000_000n, posted: 1_000_000n });
    await recordHistory(handle, 'withdrawal-cancelled-awaiting-otp');
  });

  it('a cancel once submitted is refused (cannot_cancel): the provider decides', async () => {
    const w = wallet(10_000n);
    const i = input(w, '2000');
    const handle = await start(i);
    await reach(handle, 'submitted');
    await expect(handle.executeUpdate(cancelWithdrawal)).rejects.toMatchObject({
      cause: { type: 'cannot_cancel' },
    });
    await handle.signal(payoutResult, result(i, 'settled'));
    expect((await handle.result()).status).toBe('completed');
    expect(fake.balance(w)).toEqual({ available: 8_000n, posted: 8_000n });
    await recordHistory(handle, 'withdrawal-cancel-refused');
  });

  it('provider timeout with no late result: failed payout_timeout once the watch ends', async () => {
    const w = wallet(10_000n);
    const i = input(w, '3000', { payout_timeout_ms: 500, late_result_window_ms: 500 });
    const handle = await start(i);
    expect(await handle.result()).toMatchObject({ status: 'failed', failure_code: 'payout_timeout' });
    expect(fake.balance(w)).toEqual({ available: 10_000n, posted: 10_000n });
    await recordHistory(handle, 'withdrawal-timeout');
  });

  it('a forged input (not signed by the gateway) moves nothing and never reaches the provider', async () => {
    const w = wallet(10_000n);
    const i = { ...input(w, '1000'), amount: '9000' };
    const handle = await start(i);
    expect(await handle.result()).toMatchObject({ status: 'failed', failure_code: 'not_authorized' });
    expect(fake.effects(handle.workflowId)).toEqual(['release:none']);
    expect(fake.payouts.submitted.has(i.withdrawal_id)).toBe(false);
    await recordHistory(handle, 'withdrawal-forged-signature');
  });

  it('insufficient funds: failed before the provider is asked', async () => {
    const w = wallet(100n);
    const i = input(w, '1000');
    const handle = await start(i);
    expect(await handle.result()).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });
    expect(fake.payouts.submitted.has(i.withdrawal_id)).toBe(false);
  });

  it('a large withdrawal waits for the OTP step-up before it is submitted', async () => {
    const w = wallet(1_000_000n);
    const i = input(w, '150000');
    const handle = await start(i);
    await reach(handle, 'awaiting_confirmation');
    expect(fake.payouts.submitted.has(i.withdrawal_id)).toBe(false);
    const confirmed = await handle.executeUpdate(confirmWithdrawalOtp, { args: [{ code: FAKE_OTP_CODE }] });
    expect(confirmed.status).not.toBe('awaiting_confirmation');
    await reach(handle, 'submitted');
    await handle.signal(payoutResult, result(i, 'settled'));
    expect((await handle.result()).status).toBe('completed');
    expect(fake.balance(w).posted).toBe(850_000n);
    await recordHistory(handle, 'withdrawal-step-up-confirmed');
  });
});
