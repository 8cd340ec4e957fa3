import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFakeServices,
  FAKE_OTP_CODE,
  FAKE_WORKFLOW_INPUT_KEY,
  type FakeServices,
} from '../activities/testing/fake-activities.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import {
  recordHistory,
  startTransferAndWait,
  startWorkflowTestWorker,
  type WorkflowTestContext,
} from '../workers/testing/workflow-test-env.js';
import { searchAttributes } from '../temporal-config/index.js';
import {
  cancelTransfer,
  confirmOtp,
  getTransfer,
  resolveAsCompleted,
  retryCompensation,
  transferStartOptions,
  waitForTransfer,
  type Transfer,
  type TransferInput,
} from './transfer-contract.js';
import { transferWorkflow } from './transfer-workflow.js';

const ALICE = 'user-alice';
const BOB = 'user-bob';

let ctx: WorkflowTestContext;
let fake: FakeServices;

beforeAll(async () => {
  fake = createFakeServices();
  fake.addUser({ user_id: ALICE });
  fake.addUser({ user_id: BOB });
  ctx = await startWorkflowTestWorker(`transfer-test-${randomUUID()}`, fake.activities);
});

afterAll(async () => {
  await ctx?.stop();
});

/** Two fresh wallets per test: Alice's with `balance`, Bob's empty. */
function wallets(
  balance = 1_000_000n,
  opts: { toStatus?: 'active' | 'frozen' | 'closed'; toCurrency?: string } = {},
) {
  const from = `w-${randomUUID()}`;
  const to = `w-${randomUUID()}`;
  fake.addWallet({ id: from, user_id: ALICE, balance });
  fake.addWallet({
    id: to,
    user_id: BOB,
    status: opts.toStatus ?? 'active',
    currency: opts.toCurrency ?? 'USD',
  });
  return { from, to };
}

function initiator(): TransferInput['initiated_by'] {
  return {
    user_id: ALICE,
    client_id: 'velora-web',
    token_jti: randomUUID(),
    ip: '203.0.113.7',
    user_agent: 'vitest',
  };
}

/** A transfer as the gateway starts it: signed with the worker's key. */
function transferInput(
  w: { from: string; to: string },
  amount: string,
  extra: Partial<Omit<TransferInput, 'signature'>> = {},
): TransferInput {
  return signWorkflowInput(unsignedInput(w, amount, extra), FAKE_WORKFLOW_INPUT_KEY);
}

function unsignedInput(
  w: { from: string; to: string },
  amount: string,
  extra: Partial<Omit<TransferInput, 'signature'>> = {},
): Omit<TransferInput, 'signature'> {
  return {
    transfer_id: randomUUID(),
    from_wallet_id: w.from,
    to_wallet_id: w.to,
    amount,
    currency: 'USD',
    description: 'rent share',
    initiated_by: initiator(),
    request_hash: 'sha256:test',
    created_at: new Date().toISOString(),
    ...extra,
  };
}

/**
 * Starts a transfer as the gateway does. `workflowTaskTimeout`: while a local activity runs the
 * worker holds the workflow task and sees a new update only when it heartbeats the task (at 80 %
 * of this timeout); tests that send an update while a money step is blocked shorten it.
 */
async function start(
  input: TransferInput,
  options: { workflowTaskTimeout?: string } = {},
): Promise<WorkflowHandle<typeof transferWorkflow>> {
  return ctx.env.client.workflow.start(transferWorkflow, {
    ...transferStartOptions(input),
    taskQueue: ctx.taskQueue,
    ...options,
  });
}

/** Prepares failure injection for a workflow id before it starts. */
function idOf(input: TransferInput): string {
  return transferStartOptions(input).workflowId;
}

async function waitForStatus(handle: WorkflowHandle, status: Transfer['status']): Promise<Transfer> {
  for (;;) {
    const view = await handle.query(getTransfer);
    if (view.status === status) return view;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function step(view: Transfer, name: string) {
  return view.steps.find((s) => s.name === name)!;
}

async function updateError(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe('transferWorkflow', () => {
  it('moves the money once in ONE wallet call when no step-up is needed: reserve captures (with the records)', async () => {
    const w = wallets(1_000_000n);
    const input = transferInput(w, '2500');
    const handle = await start(input);
    const result = await handle.result();

    expect(result.status).toBe('completed');
    expect(result.failure_code).toBeUndefined();
    expect(result.completed_at).toBeDefined();
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([
      ['reserve', 'completed'],
      ['step_up', 'skipped'],
      ['capture', 'completed'],
    ]);
    expect(fake.balance(w.from)).toEqual({ available: 997_500n, posted: 997_500n });
    expect(fake.balance(w.to)).toEqual({ available: 2_500n, posted: 2_500n });
    expect(fake.effects(handle.workflowId)).toEqual(['reserve+capture']);
    expect(await handle.query(getTransfer)).toEqual(result);

    // Visible in the Web UI: search attributes and memo.
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.TransferStatus)).toBe('completed');
    expect(described.typedSearchAttributes.get(searchAttributes.TransferAmount)).toBe(2500);
    expect(described.typedSearchAttributes.get(searchAttributes.FromWalletId)).toBe(w.from);
    expect(described.typedSearchAttributes.get(searchAttributes.ToWalletId)).toBe(w.to);
    expect(described.typedSearchAttributes.get(searchAttributes.TransferCurrency)).toBe('USD');
    expect(described.typedSearchAttributes.get(searchAttributes.InitiatedBy)).toBe(ALICE);
    expect(described.typedSearchAttributes.get(searchAttributes.TransferFailureCode)).toBeUndefined();
    expect(described.memo).toMatchObject({ description: 'rent share', transfer_id: input.transfer_id });

    // The capture carried the auth log and the audit trace of the steps before it.
    const records = fake.recorded(handle.workflowId)!;
    expect(records.auth_log).toEqual({
      transfer_id: input.transfer_id,
      workflow_id: handle.workflowId,
      user_id: ALICE,
      client_id: 'velora-web',
      token_jti: input.initiated_by.token_jti,
      ip: '203.0.113.7',
      user_agent: 'vitest',
      step_up: false,
      outcome: 'completed',
    });
    expect(records.audit.map((a) => `${a.step}:${a.status}:${a.attempt}`)).toEqual([
      'reserve:completed:1',
      'step_up:skipped:0',
    ]);
    await recordHistory(handle, 'transfer-completed');
  });

  it('moves the money in two wallet calls when the wallet does not capture at reserve: reserve → capture', async () => {
    const w = wallets(1_000_000n);
    const input = transferInput(w, '2500');
    fake.walletWithoutOneCall(idOf(input));
    const handle = await start(input);
    const result = await handle.result();
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([
      ['reserve', 'completed'],
      ['step_up', 'skipped'],
      ['capture', 'completed'],
    ]);
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'capture']);
    expect(fake.balance(w.to)).toEqual({ available: 2_500n, posted: 2_500n });
    const records = fake.recorded(handle.workflowId)!;
    expect(records.auth_log).toMatchObject({ step_up: false, outcome: 'completed' });
    expect(records.audit.map((a) => `${a.step}:${a.status}:${a.attempt}`)).toEqual([
      'reserve:completed:1',
      'step_up:skipped:0',
    ]);
    await recordHistory(handle, 'transfer-completed-two-calls');
  });

  it('one-call reserve whose answer was lost after the wallet captured: release is refused, needs_attention, resolveAsCompleted', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '4000');
    fake.inject(idOf(input), 'reserveTransfer', { kind: 'outage_after_effect' });
    const handle = await start(input);
    const stuck = await waitForStatus(handle, 'needs_attention');
    expect(step(stuck, 'reserve')).toMatchObject({
      status: 'compensation_failed',
      error_code: 'hold_already_captured',
    });
    expect(fake.balance(w.to).posted).toBe(4_000n); // the money moved once; nothing is undone
    const resolved = await handle.executeUpdate(resolveAsCompleted);
    expect(resolved).toMatchObject({ status: 'completed' });
    const result = await handle.result();
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([
      ['reserve', 'completed'],
      ['step_up', 'pending'],
      ['capture', 'completed'],
    ]);
    expect(fake.effects(handle.workflowId)).toEqual(['reserve+capture', 'check:captured']);
    expect(fake.balance(w.from)).toEqual({ available: 6_000n, posted: 6_000n });
    await recordHistory(handle, 'transfer-one-call-lost-answer-resolved');
  });

  it('one-call reserve: a cancel while it runs waits for its answer, which captured: the transfer completes', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '3000');
    const gate = `reserve-${input.transfer_id}`;
    fake.inject(idOf(input), 'reserveTransfer', { kind: 'block', gate });
    const handle = await start(input, { workflowTaskTimeout: '2s' });
    await fake.reached(gate);
    const update = await handle.startUpdate(cancelTransfer, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    fake.open(gate);
    expect(await update.result()).toMatchObject({ status: 'completed' });
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.failure_code).toBeUndefined();
    expect(fake.effects(handle.workflowId)).toEqual(['reserve+capture']);
    expect(fake.balance(w.to).posted).toBe(3_000n);
    // The auth log says completed, not cancelled: the cancel came too late for this transfer.
    expect(fake.recorded(handle.workflowId)!.auth_log).toMatchObject({ outcome: 'completed' });
    await recordHistory(handle, 'transfer-one-call-cancel-during-reserve');
  });

  it('costs one workflow task and upserts once per status change, the memo never', async () => {
    const w = wallets(1_000_000n);
    const handle = await start(transferInput(w, '2500'));
    await handle.result();
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const upserted = events.flatMap((e) =>
      Object.keys(
        e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
      ).sort(),
    );
    const memos = events.filter((e) => e.workflowPropertiesModifiedEventAttributes);
    // pending comes with the start; the reserve captured in the same task, so the status goes
    // straight to completed (processing is upserted only where a capture round can be seen
    // retrying). The upsert carries the status only: the parties, amount and initiator came
    // with the start and stay (the test above reads them back after the upsert).
    expect(upserted).toEqual(['TransferStatus']);
    expect(memos).toHaveLength(0);
    // The reserve, which captures, is one local activity: one workflow task, one marker, no
    // activity tasks, no patch marker: 7 events in all.
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
    const markers = events.flatMap((e) => e.markerRecordedEventAttributes?.markerName ?? []);
    expect(markers).toEqual(['core_local_activity']);
    expect(events).toHaveLength(7);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(0);
  });

  it('fails with insufficient_funds, moves nothing, and records through one release', async () => {
    const w = wallets(1_000n);
    const handle = await start(transferInput(w, '2500'));
    const result = await handle.result();

    expect(result.status).toBe('failed');
    expect(result.failure_code).toBe('insufficient_funds');
    expect(step(result, 'reserve')).toMatchObject({
      status: 'failed',
      attempts: 1,
      error_code: 'insufficient_funds',
      error: 'wallet: insufficient funds',
    });
    expect(step(result, 'capture').status).toBe('pending');
    expect(fake.balance(w.from)).toEqual({ available: 1_000n, posted: 1_000n });
    expect(fake.balance(w.to)).toEqual({ available: 0n, posted: 0n });
    // The wallet refused the hold: the release finds none and only records.
    expect(fake.effects(handle.workflowId)).toEqual(['release:none']);
    expect(fake.recorded(handle.workflowId)!.auth_log).toMatchObject({
      outcome: 'failed',
      failure_code: 'insufficient_funds',
    });
    // The failure code goes to visibility with the terminal status, in the same upsert.
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.TransferStatus)).toBe('failed');
    expect(described.typedSearchAttributes.get(searchAttributes.TransferFailureCode)).toBe(
      'insufficient_funds',
    );
    await recordHistory(handle, 'transfer-insufficient-funds');
  });

  it('fails with limit_exceeded above the per-transfer limit, holding nothing', async () => {
    const w = wallets(10_000_000n);
    const handle = await start(transferInput(w, '500001'));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', failure_code: 'limit_exceeded' });
    expect(step(result, 'step_up').status).toBe('pending');
    expect(fake.effects(handle.workflowId)).toEqual(['release:none']);
    expect(fake.balance(w.from).available).toBe(10_000_000n);
    await recordHistory(handle, 'transfer-limit-exceeded');
  });

  it.each([
    ['frozen', 'wallet_frozen'],
    ['closed', 'wallet_closed'],
  ] as const)(
    'fails at reserve (%s destination) with %s, without holding anything',
    async (toStatus, code) => {
      const w = wallets(1_000_000n, { toStatus });
      const handle = await start(transferInput(w, '2500'));
      const result = await handle.result();

      expect(result).toMatchObject({ status: 'failed', failure_code: code });
      expect(step(result, 'reserve')).toMatchObject({ status: 'failed', error_code: code });
      expect(fake.effects(handle.workflowId)).toEqual(['release:none']);
      expect(fake.recorded(handle.workflowId)!.auth_log).toMatchObject({ failure_code: code });
      expect(fake.balance(w.from).available).toBe(1_000_000n);
    },
  );

  it('fails with not_authorized when the source wallet is not the initiator’s', async () => {
    const w = wallets();
    const handle = await start(transferInput(w, '100', { initiated_by: { ...initiator(), user_id: BOB } }));
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', failure_code: 'not_authorized' });
    expect(fake.balance(w.from).available).toBe(1_000_000n);
  });

  describe('a workflow started on Temporal without the gateway', () => {
    it('moves nothing when the signature is missing or forged (not_authorized)', async () => {
      const w = wallets(50_000n);
      const unsigned = unsignedInput(w, '40000');
      const forged: TransferInput = { ...unsigned, signature: 'Zm9yZ2Vk' };
      const handle = await start(forged);
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'failed', failure_code: 'not_authorized' });
      expect(step(result, 'reserve')).toMatchObject({ status: 'failed', error_code: 'not_authorized' });
      expect(fake.effects(handle.workflowId)).toEqual(['release:none']);
      expect(fake.balance(w.from)).toEqual({ available: 50_000n, posted: 50_000n });
      await recordHistory(handle, 'transfer-forged-signature');

      // A genuine signature over other fields (the amount raised afterwards) is forged too.
      const tampered = { ...transferInput(w, '100'), amount: '40000' };
      const again = await (await start(tampered)).result();
      expect(again).toMatchObject({ status: 'failed', failure_code: 'not_authorized' });
      expect(fake.balance(w.from).available).toBe(50_000n);
    });

    it('moves nothing for a signed input replayed under another workflow id, nor releases its hold', async () => {
      const w = wallets(50_000n);
      const input = transferInput(w, '15000');
      const victim = await start(input);
      await victim.result();
      const replay = await ctx.env.client.workflow.start(transferWorkflow, {
        ...transferStartOptions(input),
        workflowId: `replayed-${randomUUID()}`,
        taskQueue: ctx.taskQueue,
      });
      const result = await replay.result();
      expect(result).toMatchObject({ status: 'failed', failure_code: 'not_authorized' });
      expect(fake.effects(replay.workflowId)).toEqual(['release:refused']);
      expect(fake.balance(w.from).posted).toBe(50_000n - 15_000n);
    });
  });

  it('retries an infrastructure blip at reserve and completes', async () => {
    const w = wallets();
    const input = transferInput(w, '700');
    fake.inject(idOf(input), 'reserveTransfer', { kind: 'flaky' });
    const handle = await start(input);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(step(result, 'reserve')).toMatchObject({ status: 'completed', attempts: 2 });
    expect(fake.balance(w.to).posted).toBe(700n);
    await recordHistory(handle, 'transfer-reserve-retried');
  });

  it('releases a hold whose reserve answer was lost (found by transfer id)', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '4000');
    fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
    fake.inject(idOf(input), 'reserveTransfer', { kind: 'outage_after_effect' });
    const handle = await start(input);
    const result = await handle.result();

    expect(result).toMatchObject({ status: 'failed', failure_code: 'internal_error' });
    expect(step(result, 'reserve')).toMatchObject({ status: 'compensated' });
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'release']);
    expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    await recordHistory(handle, 'transfer-reserve-lost-answer');
  });

  it('releases the hold when capture is refused (destination frozen meanwhile)', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '4000');
    fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
    fake.inject(idOf(input), 'captureTransfer', { kind: 'domain', code: 'wallet_frozen' });
    const handle = await start(input);
    const result = await handle.result();

    expect(result).toMatchObject({ status: 'failed', failure_code: 'wallet_frozen' });
    expect(step(result, 'capture')).toMatchObject({ status: 'failed', error_code: 'wallet_frozen' });
    expect(step(result, 'reserve').status).toBe('compensated');
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'release']);
    expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    expect(fake.balance(w.to)).toEqual({ available: 0n, posted: 0n });
    const records = fake.recorded(handle.workflowId)!;
    expect(records.auth_log).toMatchObject({ outcome: 'failed', failure_code: 'wallet_frozen' });
    expect(records.audit.map((a) => `${a.step}:${a.status}`)).toEqual([
      'reserve:completed',
      'step_up:skipped',
      'capture:failed',
    ]);
    await recordHistory(handle, 'transfer-capture-refused');
  });

  it('waits in needs_attention when the release fails, and finishes after the operator retries', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '4000');
    fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
    fake.inject(idOf(input), 'captureTransfer', { kind: 'domain', code: 'currency_mismatch' });
    fake.inject(idOf(input), 'releaseTransfer', { kind: 'outage', times: 1 });
    const handle = await start(input);

    const stuck = await waitForStatus(handle, 'needs_attention');
    expect(step(stuck, 'reserve')).toMatchObject({
      status: 'compensation_failed',
      error_code: 'upstream_unavailable',
      error: 'injected outage in releaseTransfer',
    });
    expect(fake.balance(w.from).available).toBe(6_000n); // still held: nothing was pretended
    expect(await handle.executeUpdate(waitForTransfer)).toMatchObject({ status: 'needs_attention' });
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.TransferStatus)).toBe('needs_attention');

    await handle.signal(retryCompensation);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', failure_code: 'currency_mismatch' });
    expect(step(result, 'reserve').status).toBe('compensated');
    expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'release']);
    await recordHistory(handle, 'transfer-needs-attention-retried');
  });

  it('cancels before capture: a cancel during reserve waits for the hold, then releases it', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '3000');
    fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
    const gate = `reserve-${input.transfer_id}`;
    fake.inject(idOf(input), 'reserveTransfer', { kind: 'block', gate });
    const handle = await start(input, { workflowTaskTimeout: '2s' });
    await fake.reached(gate); // the wallet placed the hold; its answer has not arrived

    const update = await handle.startUpdate(cancelTransfer, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    fake.open(gate);
    // Answered once the outcome is decided: the release of the hold is under way.
    const view = await update.result();
    expect(view).toMatchObject({ status: 'compensating', failure_code: 'cancelled_by_user' });
    const result = await handle.result();
    expect(result.status).toBe('cancelled');
    expect(step(result, 'reserve').status).toBe('compensated');
    expect(step(result, 'capture').status).toBe('pending');
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'release']);
    expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    expect(fake.recorded(handle.workflowId)!.auth_log).toMatchObject({
      outcome: 'cancelled',
      failure_code: 'cancelled_by_user',
    });
    await recordHistory(handle, 'transfer-cancelled-before-capture');
  });

  it('refuses to cancel after capture (cannot_cancel) and completes', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '3000');
    fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
    const gate = `capture-${input.transfer_id}`;
    fake.inject(idOf(input), 'captureTransfer', { kind: 'block', gate });
    const handle = await start(input, { workflowTaskTimeout: '2s' });
    await fake.reached(gate);

    const failure = await updateError(handle.executeUpdate(cancelTransfer));
    expect(failure.type).toBe('cannot_cancel');
    fake.open(gate);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(fake.balance(w.to).posted).toBe(3_000n);
    await recordHistory(handle, 'transfer-cancel-refused');
  });

  describe('waitForTransfer', () => {
    it('starts and answers once the transfer is settled (Update-with-Start)', async () => {
      const w = wallets(10_000n);
      const input = transferInput(w, '1200');
      const view = await startTransferAndWait(ctx, input);
      expect(view.status).toBe('completed');
      expect(fake.balance(w.to).posted).toBe(1_200n);
    });

    it('answers awaiting_confirmation while the step-up code is expected', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000', { otp_timeout_ms: 60_000 }));
      const view = await handle.executeUpdate(waitForTransfer);
      expect(view.status).toBe('awaiting_confirmation');
      await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      // The transfer may finish in the very task that handled the code: a later update can find
      // it closed (WorkflowNotFoundError), so a waiter falls back to the result.
      expect((await handle.result()).status).toBe('completed');
    });

    it('answers a failed transfer with its failure code and step error codes', async () => {
      const w = wallets(100n);
      const input = transferInput(w, '1200');
      const view = await startTransferAndWait(ctx, input);
      expect(view).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });
      expect(step(view, 'reserve').error_code).toBe('insufficient_funds');
    });
  });

  describe('step-up', () => {
    it('holds the funds while waiting for the OTP and completes with the right code', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000'));
      const waiting = await waitForStatus(handle, 'awaiting_confirmation');
      expect(step(waiting, 'reserve').status).toBe('completed');
      expect(step(waiting, 'step_up').status).toBe('running');
      expect(fake.balance(w.from)).toEqual({ available: 850_000n, posted: 1_000_000n });

      const confirmed = await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      expect(confirmed.status).toBe('processing');
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(step(result, 'step_up')).toMatchObject({ status: 'completed', attempts: 1 });
      expect(fake.balance(w.to).posted).toBe(150_000n);
      expect(fake.recorded(handle.workflowId)!.auth_log.step_up).toBe(true);
      expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'otp_send', 'otp_verify:1', 'capture']);
      await recordHistory(handle, 'transfer-step-up-confirmed');
    });

    it('rejects a malformed code in the validator and keeps waiting', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000', { otp_timeout_ms: 60_000 }));
      await waitForStatus(handle, 'awaiting_confirmation');

      for (const code of ['12345', 'abcdef', '1234567', '12 456']) {
        const failure = await updateError(handle.executeUpdate(confirmOtp, { args: [{ code }] }));
        expect(failure.type).toBe('validation_failed');
      }
      expect(fake.effects(handle.workflowId).filter((e) => e.startsWith('otp_verify'))).toEqual([]);
      const view = await handle.query(getTransfer);
      expect(view.status).toBe('awaiting_confirmation');

      await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      expect((await handle.result()).status).toBe('completed');
      await recordHistory(handle, 'transfer-step-up-malformed-code');
    });

    it('accepts the right code after a wrong one', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000'));
      await waitForStatus(handle, 'awaiting_confirmation');

      const failure = await updateError(handle.executeUpdate(confirmOtp, { args: [{ code: '000000' }] }));
      expect(failure.type).toBe('otp_invalid');
      expect(failure.details?.[0]).toMatchObject({ attempts_left: 2 });
      const waiting = await handle.query(getTransfer);
      expect(waiting.status).toBe('awaiting_confirmation');
      expect(step(waiting, 'step_up')).toMatchObject({ error_code: 'otp_invalid' });

      await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(step(result, 'step_up')).toMatchObject({ status: 'completed', attempts: 2 });
      expect(step(result, 'step_up').error_code).toBeUndefined();
      await recordHistory(handle, 'transfer-step-up-wrong-then-right');
    });

    it('cancels with otp_failed after three wrong codes and releases the hold', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000'));
      await waitForStatus(handle, 'awaiting_confirmation');

      for (const left of [2, 1]) {
        const failure = await updateError(handle.executeUpdate(confirmOtp, { args: [{ code: '111111' }] }));
        expect(failure.type).toBe('otp_invalid');
        expect(failure.details?.[0]).toMatchObject({ attempts_left: left });
      }
      const last = await updateError(handle.executeUpdate(confirmOtp, { args: [{ code: '111111' }] }));
      expect(last.type).toBe('otp_failed');

      const result = await handle.result();
      expect(result).toMatchObject({ status: 'cancelled', failure_code: 'otp_failed' });
      expect(step(result, 'step_up')).toMatchObject({
        status: 'failed',
        attempts: 3,
        error_code: 'otp_failed',
      });
      expect(step(result, 'reserve').status).toBe('compensated');
      expect(fake.effects(handle.workflowId)).toEqual([
        'reserve',
        'otp_send',
        'otp_verify:1',
        'otp_verify:2',
        'otp_verify:3',
        'release',
      ]);
      expect(fake.balance(w.from)).toEqual({ available: 1_000_000n, posted: 1_000_000n });
      await recordHistory(handle, 'transfer-step-up-otp-failed');
    });

    it('cancels with otp_expired when no code arrives in time and releases the hold', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000', { otp_timeout_ms: 1_500 }));
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'cancelled', failure_code: 'otp_expired' });
      expect(step(result, 'step_up')).toMatchObject({ status: 'failed', error_code: 'otp_expired' });
      expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'otp_send', 'release']);
      expect(fake.balance(w.from).available).toBe(1_000_000n);
      await recordHistory(handle, 'transfer-step-up-otp-expired');
    });

    it('completes when the OTP deadline fires while the right code is still being checked (the fuzzer’s deadlock)', async () => {
      // Its own payer: Alice's rolling daily limit is left for the tests after this one.
      const dave = `user-dave-${randomUUID()}`;
      fake.addUser({ user_id: dave });
      const w = { from: `w-${randomUUID()}`, to: `w-${randomUUID()}` };
      fake.addWallet({ id: w.from, user_id: dave, balance: 1_000_000n });
      fake.addWallet({ id: w.to, user_id: BOB });
      const input = transferInput(w, '150000', {
        otp_timeout_ms: 3_000,
        initiated_by: { ...initiator(), user_id: dave },
      });
      // AuthService does not answer the check's first three attempts (0 s, 1 s, 3 s): the 3 s
      // deadline fires while the code is being checked, the fourth attempt (7 s) confirms it.
      fake.inject(idOf(input), 'verifyStepUpOtp', { kind: 'unreachable', times: 3 });
      const handle = await start(input);
      await waitForStatus(handle, 'awaiting_confirmation');
      const confirmed = await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      expect(confirmed.status).not.toBe('awaiting_confirmation');
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(step(result, 'step_up').status).toBe('completed');
      expect(fake.balance(w.to).posted).toBe(150_000n);
      expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'otp_send', 'otp_verify:1', 'capture']);
      const markers = (await handle.fetchHistory()).events!.filter((e) => e.markerRecordedEventAttributes);
      expect(markers.some((e) => e.markerRecordedEventAttributes!.markerName === 'core_patch')).toBe(true);
      await recordHistory(handle, 'transfer-otp-deadline-while-verifying');
    });

    it('can be cancelled while waiting for the code', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000'));
      await waitForStatus(handle, 'awaiting_confirmation');
      const view = await handle.executeUpdate(cancelTransfer);
      expect(view).toMatchObject({ status: 'compensating', failure_code: 'cancelled_by_user' });
      expect(step(view, 'step_up')).toMatchObject({
        status: 'failed',
        error_code: 'cancelled_by_user',
        error: 'cancelled_by_user',
      });
      // The run has finished: the server refuses updates to it (WorkflowNotFoundError).
      await expect(handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] })).rejects.toThrow(
        /completed/,
      );
      expect((await handle.result()).status).toBe('cancelled');
      expect(fake.balance(w.from).available).toBe(1_000_000n);
      await recordHistory(handle, 'transfer-cancelled-awaiting-otp');
    });
  });

  it('treats an operator’s workflow cancel before capture as a cancellation (cancelled_by_operator)', async () => {
    const w = wallets();
    const handle = await start(transferInput(w, '150000'));
    await waitForStatus(handle, 'awaiting_confirmation');
    await handle.cancel(); // what `temporal workflow cancel` / the Web UI send
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'cancelled', failure_code: 'cancelled_by_operator' });
    expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'otp_send', 'release']);
    expect(fake.balance(w.from).available).toBe(1_000_000n);
    await recordHistory(handle, 'transfer-cancelled-by-operator');
  });

  it('rejects a duplicate start with the same workflow id, while running and after completion', async () => {
    const w = wallets();
    const input = transferInput(w, '150000', { otp_timeout_ms: 60_000 });
    const handle = await start(input);
    await waitForStatus(handle, 'awaiting_confirmation');

    await expect(start(input)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
    expect((await handle.result()).status).toBe('completed');
    await expect(start(input)).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);

    expect(fake.effects(handle.workflowId).filter((e) => e === 'capture')).toEqual(['capture']);
    expect(fake.balance(w.to).posted).toBe(150_000n);
    await recordHistory(handle, 'transfer-duplicate-start');
  });

  describe('sagas that can always be finished (issue 11)', () => {
    it('ends the OTP wait when the challenge expires, not after the configured 10 minutes', async () => {
      const w = wallets();
      const input = transferInput(w, '150000');
      fake.otpExpiresIn(idOf(input), 1_500);
      const handle = await start(input);
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'cancelled', failure_code: 'otp_expired' });
      expect(step(result, 'step_up')).toMatchObject({ status: 'failed', error_code: 'otp_expired' });
      expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'otp_send', 'release']);
      expect(fake.balance(w.from).available).toBe(1_000_000n);
      await recordHistory(handle, 'transfer-step-up-challenge-expired');
    });

    it('answers a cancel as soon as it is decided, while the release is still running', async () => {
      const w = wallets();
      const input = transferInput(w, '150000');
      const gate = `release-${input.transfer_id}`;
      fake.inject(idOf(input), 'releaseTransfer', { kind: 'block', gate });
      const handle = await start(input, { workflowTaskTimeout: '2s' });
      await waitForStatus(handle, 'awaiting_confirmation');

      const view = await handle.executeUpdate(cancelTransfer);
      expect(view).toMatchObject({ status: 'compensating', failure_code: 'cancelled_by_user' });
      fake.open(gate);
      expect(await handle.result()).toMatchObject({ status: 'cancelled', failure_code: 'cancelled_by_user' });
      expect(fake.balance(w.from).available).toBe(1_000_000n);
      await recordHistory(handle, 'transfer-cancel-answered-while-releasing');
    });

    it('answers the last wrong code as soon as the transfer is cancelled, while the release runs', async () => {
      const w = wallets();
      const input = transferInput(w, '150000');
      const gate = `release-${input.transfer_id}`;
      fake.inject(idOf(input), 'releaseTransfer', { kind: 'block', gate });
      const handle = await start(input, { workflowTaskTimeout: '2s' });
      await waitForStatus(handle, 'awaiting_confirmation');
      for (let i = 0; i < 2; i++)
        await updateError(handle.executeUpdate(confirmOtp, { args: [{ code: '111111' }] }));

      const last = await updateError(handle.executeUpdate(confirmOtp, { args: [{ code: '111111' }] }));
      expect(last.type).toBe('otp_failed');
      expect(last.details?.[0]).toMatchObject({
        transfer: { status: 'compensating', failure_code: 'otp_failed' },
      });
      fake.open(gate);
      expect(await handle.result()).toMatchObject({ status: 'cancelled', failure_code: 'otp_failed' });
    });

    it('answers the right code sent again with the same success, checking it once', async () => {
      const w = wallets();
      const input = transferInput(w, '150000');
      const gate = `capture-${input.transfer_id}`;
      fake.inject(idOf(input), 'captureTransfer', { kind: 'block', gate });
      const handle = await start(input, { workflowTaskTimeout: '2s' });
      await waitForStatus(handle, 'awaiting_confirmation');

      const first = await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      const again = await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      expect(first.status).toBe('processing');
      expect(again.status).toBe('processing');
      // Another code after the confirmation is still refused.
      const other = await updateError(handle.executeUpdate(confirmOtp, { args: [{ code: '222222' }] }));
      expect(other.type).toBe('not_awaiting_confirmation');
      fake.open(gate);
      expect((await handle.result()).status).toBe('completed');
      expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'otp_send', 'otp_verify:1', 'capture']);
      await recordHistory(handle, 'transfer-step-up-code-resent');
    });

    it('reattaches a retried confirmOtp to the same update id: one check, the same answer', async () => {
      // Its own payer: Alice's rolling daily limit is spent by the step-up tests before this one.
      const carol = `user-carol-${randomUUID()}`;
      fake.addUser({ user_id: carol });
      const w = { from: `w-${randomUUID()}`, to: `w-${randomUUID()}` };
      fake.addWallet({ id: w.from, user_id: carol, balance: 1_000_000n });
      fake.addWallet({ id: w.to, user_id: BOB });
      const handle = await start(
        transferInput(w, '150000', {
          otp_timeout_ms: 60_000,
          initiated_by: { ...initiator(), user_id: carol },
        }),
      );
      await waitForStatus(handle, 'awaiting_confirmation');
      // A wrong code retried under its id (the gateway's id per transfer and code) counts once.
      const wrongId = `confirm-${randomUUID()}`;
      for (let i = 0; i < 2; i++) {
        const wrong = await updateError(
          handle.executeUpdate(confirmOtp, { args: [{ code: '333333' }], updateId: wrongId }),
        );
        expect(wrong.type).toBe('otp_invalid');
        expect(wrong.details?.[0]).toMatchObject({ attempts_left: 2 });
      }
      // The right code retried after the transfer finished: Temporal answers the first outcome.
      const rightId = `confirm-${randomUUID()}`;
      const first = await handle.executeUpdate(confirmOtp, {
        args: [{ code: FAKE_OTP_CODE }],
        updateId: rightId,
      });
      expect((await handle.result()).status).toBe('completed');
      const again = await handle.executeUpdate(confirmOtp, {
        args: [{ code: FAKE_OTP_CODE }],
        updateId: rightId,
      });
      expect(again).toEqual(first);
      expect(fake.effects(handle.workflowId).filter((e) => e.startsWith('otp_verify'))).toEqual([
        'otp_verify:1',
        'otp_verify:2',
      ]);
    });

    it('retries a failed release by itself after a backoff, without an operator', async () => {
      const w = wallets(10_000n);
      const input = transferInput(w, '4000', { attention_retry_ms: 500 });
      fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
      fake.inject(idOf(input), 'captureTransfer', { kind: 'domain', code: 'currency_mismatch' });
      fake.inject(idOf(input), 'releaseTransfer', { kind: 'outage', times: 2 });
      const handle = await start(input);
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'failed', failure_code: 'currency_mismatch' });
      expect(step(result, 'reserve').status).toBe('compensated');
      expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
      const statuses = (await handle.fetchHistory()).events!.flatMap((e) => {
        const attrs = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
        const raw = attrs?.TransferStatus?.data;
        return raw ? [JSON.parse(Buffer.from(raw).toString()) as string] : [];
      });
      expect(statuses.filter((st) => st === 'needs_attention')).toHaveLength(2);
      await recordHistory(handle, 'transfer-needs-attention-auto-retried');
    });

    it('parks in needs_attention when a release round of wallet_round_ms gets no answer, and releases on retryCompensation', async () => {
      const w = wallets(10_000n);
      const input = transferInput(w, '4000', { attention_retry_ms: 600_000, wallet_round_ms: 2_000 });
      fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
      fake.inject(idOf(input), 'captureTransfer', { kind: 'domain', code: 'currency_mismatch' });
      fake.inject(idOf(input), 'releaseTransfer', { kind: 'unreachable' });
      const handle = await start(input);
      const parked = await waitForStatus(handle, 'needs_attention');
      expect(step(parked, 'reserve')).toMatchObject({
        status: 'compensation_failed',
        error_code: 'upstream_unavailable',
      });
      expect(fake.balance(w.from)).toEqual({ available: 6_000n, posted: 10_000n });

      fake.inject(idOf(input), 'releaseTransfer', { kind: 'unreachable', times: 0 }); // the wallet is back
      await handle.signal(retryCompensation);
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'failed', failure_code: 'currency_mismatch' });
      expect(step(result, 'reserve').status).toBe('compensated');
      expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
      expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'release']);
    });

    it('waits in needs_attention when a capture round gets no answer (not failed), cannot be cancelled, and completes on retry', async () => {
      const w = wallets(10_000n);
      const input = transferInput(w, '4000', { attention_retry_ms: 600_000 });
      fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
      fake.inject(idOf(input), 'captureTransfer', { kind: 'outage', times: 1 });
      const handle = await start(input);
      const stuck = await waitForStatus(handle, 'needs_attention');
      expect(stuck.failure_code).toBeUndefined();
      expect(step(stuck, 'capture')).toMatchObject({ status: 'failed', error_code: 'upstream_unavailable' });
      expect(fake.balance(w.from)).toEqual({ available: 6_000n, posted: 10_000n });
      expect((await updateError(handle.executeUpdate(cancelTransfer))).type).toBe('cannot_cancel');

      await handle.signal(retryCompensation);
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(step(result, 'capture').status).toBe('completed');
      expect(fake.balance(w.to).posted).toBe(4_000n);
      expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'capture']);
      await recordHistory(handle, 'transfer-capture-needs-attention');
    });

    it('releases by transfer id when reserve answers idempotency_key_mismatch after the hold was placed', async () => {
      const w = wallets(10_000n);
      const input = transferInput(w, '4000');
      fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
      fake.inject(idOf(input), 'reserveTransfer', {
        kind: 'domain_after_effect',
        code: 'idempotency_key_mismatch',
      });
      const handle = await start(input);
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'failed', failure_code: 'internal_error' });
      expect(step(result, 'reserve')).toMatchObject({ status: 'compensated' });
      expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'release']);
      expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    });

    it('fails with the wallet’s own code when the transfer id was released before (transfer_released)', async () => {
      const w = wallets(10_000n);
      const input = transferInput(w, '4000');
      fake.inject(idOf(input), 'reserveTransfer', { kind: 'domain', code: 'transfer_released' });
      const result = await (await start(input)).result();
      expect(result).toMatchObject({ status: 'failed', failure_code: 'transfer_released' });
      expect(step(result, 'reserve').error_code).toBe('transfer_released');
    });

    it('closes as completed on resolveAsCompleted once the journal shows the capture (hold_already_captured)', async () => {
      const w = wallets(10_000n);
      const input = transferInput(w, '4000');
      fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
      // A re-run capture whose body the wallet does not recognise, after the money moved.
      fake.inject(idOf(input), 'captureTransfer', {
        kind: 'domain_after_effect',
        code: 'idempotency_key_mismatch',
      });
      const handle = await start(input);
      const stuck = await waitForStatus(handle, 'needs_attention');
      expect(step(stuck, 'reserve')).toMatchObject({
        status: 'compensation_failed',
        error_code: 'hold_already_captured',
      });
      const resolved = await handle.executeUpdate(resolveAsCompleted);
      expect(resolved.status).toBe('completed');
      expect(resolved.failure_code).toBeUndefined();
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(step(result, 'capture').status).toBe('completed');
      expect(fake.balance(w.to).posted).toBe(4_000n);
      expect(fake.effects(handle.workflowId)).toEqual(['reserve', 'capture', 'check:captured']);
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(searchAttributes.TransferStatus)).toBe('completed');
      await recordHistory(handle, 'transfer-resolved-as-completed');
    });

    it('refuses resolveAsCompleted unless the transfer waits on a captured hold (not_resolvable)', async () => {
      const w = wallets(10_000n);
      const input = transferInput(w, '4000', { attention_retry_ms: 600_000 });
      fake.walletWithoutOneCall(idOf(input)); // the two-call path (a step-up transfer's)
      fake.inject(idOf(input), 'captureTransfer', { kind: 'domain', code: 'currency_mismatch' });
      fake.inject(idOf(input), 'releaseTransfer', { kind: 'outage', times: 1 });
      const handle = await start(input);
      await waitForStatus(handle, 'needs_attention');
      expect((await updateError(handle.executeUpdate(resolveAsCompleted))).type).toBe('not_resolvable');
      await handle.signal(retryCompensation);
      expect(await handle.result()).toMatchObject({ status: 'failed', failure_code: 'currency_mismatch' });
      expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    });
  });
});
