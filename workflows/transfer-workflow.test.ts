import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  WithStartWorkflowOperation,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createFakeServices,
  FAKE_OTP_CODE,
  type FakeServices,
} from '../activities/testing/fake-activities.js';
import {
  recordHistory,
  startWorkflowTestWorker,
  type WorkflowTestContext,
} from '../workers/testing/workflow-test-env.js';
import { searchAttributes } from '../temporal-config/index.js';
import {
  cancelTransfer,
  confirmOtp,
  getTransfer,
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
function wallets(balance = 1_000_000n, opts: { toStatus?: 'active' | 'frozen'; toCurrency?: string } = {}) {
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

function transferInput(
  w: { from: string; to: string },
  amount: string,
  extra: Partial<TransferInput> = {},
): TransferInput {
  return {
    transfer_id: randomUUID(),
    from_wallet_id: w.from,
    to_wallet_id: w.to,
    amount,
    currency: 'USD',
    description: 'rent share',
    initiated_by: {
      user_id: ALICE,
      client_id: 'velora-web',
      token_jti: randomUUID(),
      ip: '203.0.113.7',
      user_agent: 'vitest',
    },
    request_hash: 'sha256:test',
    signature: 'unsigned',
    created_at: new Date().toISOString(),
    ...extra,
  };
}

async function start(input: TransferInput): Promise<WorkflowHandle<typeof transferWorkflow>> {
  return ctx.env.client.workflow.start(transferWorkflow, {
    ...transferStartOptions(input),
    taskQueue: ctx.taskQueue,
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
  it('moves the money once: authorize → reserve → capture → finalize', async () => {
    const w = wallets(1_000_000n);
    const input = transferInput(w, '2500');
    const handle = await start(input);
    const result = await handle.result();

    expect(result.status).toBe('completed');
    expect(result.failure_code).toBeUndefined();
    expect(result.completed_at).toBeDefined();
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([
      ['authorize', 'completed'],
      ['step_up', 'skipped'],
      ['reserve', 'completed'],
      ['capture', 'completed'],
      ['finalize', 'completed'],
    ]);
    expect(fake.balance(w.from)).toEqual({ available: 997_500n, posted: 997_500n });
    expect(fake.balance(w.to)).toEqual({ available: 2_500n, posted: 2_500n });
    expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'reserve', 'capture', 'finalize']);
    expect(await handle.query(getTransfer)).toEqual(result);

    // Visible in the Web UI: search attributes and memo.
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.TransferStatus)).toBe('completed');
    expect(described.typedSearchAttributes.get(searchAttributes.TransferAmount)).toBe(2500);
    expect(described.typedSearchAttributes.get(searchAttributes.FromWalletId)).toBe(w.from);
    expect(described.typedSearchAttributes.get(searchAttributes.InitiatedBy)).toBe(ALICE);
    expect(described.typedSearchAttributes.get(searchAttributes.TransferFailureCode)).toBeUndefined();
    expect(described.memo).toMatchObject({ description: 'rent share' });
    const audit = fake.finalized(handle.workflowId) as { audit: { step: string; status: string }[] };
    expect(audit.audit.map((a) => `${a.step}:${a.status}`)).toEqual([
      'authorize:completed',
      'step_up:skipped',
      'reserve:completed',
      'capture:completed',
    ]);
    await recordHistory(handle, 'transfer-completed');
  });

  it('fails with insufficient_funds and moves nothing', async () => {
    const w = wallets(1_000n);
    const handle = await start(transferInput(w, '2500'));
    const result = await handle.result();

    expect(result.status).toBe('failed');
    expect(result.failure_code).toBe('insufficient_funds');
    expect(step(result, 'reserve')).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'wallet: insufficient funds',
    });
    expect(step(result, 'reserve').error_code).toBe('insufficient_funds');
    expect(step(result, 'capture').status).toBe('pending');
    expect(fake.balance(w.from)).toEqual({ available: 1_000n, posted: 1_000n });
    // The failure code goes to visibility with the terminal status, in the same upsert.
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.TransferStatus)).toBe('failed');
    expect(described.typedSearchAttributes.get(searchAttributes.TransferFailureCode)).toBe(
      'insufficient_funds',
    );
    expect(fake.balance(w.to)).toEqual({ available: 0n, posted: 0n });
    // The wallet refused the hold, so the undo registered before reserve has nothing to release.
    expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'finalize']);
    await recordHistory(handle, 'transfer-insufficient-funds');
  });

  it('fails at authorize (frozen destination) without reserving anything', async () => {
    const w = wallets(1_000_000n, { toStatus: 'frozen' });
    const handle = await start(transferInput(w, '2500'));
    const result = await handle.result();

    expect(result).toMatchObject({ status: 'failed', failure_code: 'wallet_frozen' });
    expect(step(result, 'authorize').status).toBe('failed');
    expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'finalize']);
    expect(fake.balance(w.from).available).toBe(1_000_000n);
    await recordHistory(handle, 'transfer-authorize-refused');
  });

  it('fails with not_authorized when the source wallet is not the initiator’s', async () => {
    const w = wallets();
    const input = transferInput(w, '100');
    input.initiated_by.user_id = BOB;
    const handle = await start(input);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', failure_code: 'not_authorized' });
    expect(fake.balance(w.from).available).toBe(1_000_000n);
    await recordHistory(handle, 'transfer-not-authorized');
  });

  it('an outage at authorize ends in internal_error with nothing to undo', async () => {
    const w = wallets();
    const input = transferInput(w, '100');
    fake.inject(idOf(input), 'authorizeTransfer', { kind: 'outage' });
    const handle = await start(input);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', failure_code: 'internal_error' });
    expect(fake.effects(handle.workflowId)).toEqual(['finalize']);
    await recordHistory(handle, 'transfer-authorize-outage');
  });

  it('retries an infrastructure blip at reserve and completes', async () => {
    const w = wallets();
    const input = transferInput(w, '700');
    fake.inject(idOf(input), 'reserveFunds', { kind: 'flaky' });
    const handle = await start(input);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(step(result, 'reserve')).toMatchObject({ status: 'completed', attempts: 2 });
    expect(fake.balance(w.to).posted).toBe(700n);
    await recordHistory(handle, 'transfer-reserve-retried');
  });

  it('releases a hold whose reserve answer was lost (found again by idempotency key)', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '4000');
    fake.inject(idOf(input), 'reserveFunds', { kind: 'outage_after_effect' });
    const handle = await start(input);
    const result = await handle.result();

    expect(result).toMatchObject({ status: 'failed', failure_code: 'internal_error' });
    expect(step(result, 'reserve').status).toBe('compensated');
    expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'reserve', 'release:by_key', 'finalize']);
    expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    await recordHistory(handle, 'transfer-reserve-lost-answer');
  });

  it('releases the hold when capture is refused (destination frozen meanwhile)', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '4000');
    fake.inject(idOf(input), 'captureFunds', { kind: 'domain', code: 'wallet_frozen' });
    const handle = await start(input);
    const result = await handle.result();

    expect(result).toMatchObject({ status: 'failed', failure_code: 'wallet_frozen' });
    expect(step(result, 'capture').status).toBe('failed');
    expect(step(result, 'reserve').status).toBe('compensated');
    expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'reserve', 'release', 'finalize']);
    expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    expect(fake.balance(w.to)).toEqual({ available: 0n, posted: 0n });
    await recordHistory(handle, 'transfer-capture-refused');
  });

  it('keeps a completed transfer completed when finalize fails (money moved once)', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '4000');
    fake.inject(idOf(input), 'finalizeTransfer', { kind: 'outage' });
    const handle = await start(input);
    const result = await handle.result();

    expect(result.status).toBe('completed');
    expect(step(result, 'finalize')).toMatchObject({ status: 'failed' });
    expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'reserve', 'capture']);
    expect(fake.balance(w.to).posted).toBe(4_000n);
    await recordHistory(handle, 'transfer-finalize-failed');
  });

  it('waits in needs_attention when the undo fails, and finishes after the operator retries', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '4000');
    fake.inject(idOf(input), 'captureFunds', { kind: 'domain', code: 'currency_mismatch' });
    fake.inject(idOf(input), 'releaseFunds', { kind: 'outage', times: 1 });
    const handle = await start(input);

    const stuck = await waitForStatus(handle, 'needs_attention');
    expect(step(stuck, 'reserve')).toMatchObject({
      status: 'compensation_failed',
      error: 'injected outage in releaseFunds',
    });
    expect(fake.balance(w.from).available).toBe(6_000n); // still held: nothing was pretended
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(searchAttributes.TransferStatus)).toBe('needs_attention');

    await handle.signal(retryCompensation);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'failed', failure_code: 'currency_mismatch' });
    expect(step(result, 'reserve').status).toBe('compensated');
    expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'reserve', 'release', 'finalize']);
    await recordHistory(handle, 'transfer-needs-attention-retried');
  });

  it('cancels before capture: the hold is released', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '3000');
    const gate = `reserve-${input.transfer_id}`;
    fake.inject(idOf(input), 'reserveFunds', { kind: 'block', gate });
    const handle = await start(input);
    await fake.reached(gate); // the wallet placed the hold; its answer has not arrived

    const view = await handle.executeUpdate(cancelTransfer);
    fake.open(gate);
    expect(view).toMatchObject({ status: 'cancelled', failure_code: 'cancelled_by_user' });
    const result = await handle.result();
    expect(result.status).toBe('cancelled');
    expect(step(result, 'capture').status).toBe('pending');
    expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'reserve', 'release:by_key', 'finalize']);
    expect(fake.balance(w.from)).toEqual({ available: 10_000n, posted: 10_000n });
    await recordHistory(handle, 'transfer-cancelled-before-capture');
  });

  it('refuses to cancel after capture (cannot_cancel) and completes', async () => {
    const w = wallets(10_000n);
    const input = transferInput(w, '3000');
    const gate = `finalize-${input.transfer_id}`;
    fake.inject(idOf(input), 'finalizeTransfer', { kind: 'block', gate });
    const handle = await start(input);
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
      const view = await ctx.env.client.workflow.executeUpdateWithStart(waitForTransfer, {
        startWorkflowOperation: new WithStartWorkflowOperation(transferWorkflow, {
          ...transferStartOptions(input),
          taskQueue: ctx.taskQueue,
          workflowIdConflictPolicy: 'FAIL',
        }),
      });
      expect(view.status).toBe('completed');
      expect(fake.balance(w.to).posted).toBe(1_200n);
    });

    it('answers awaiting_confirmation while the step-up code is expected', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000', { otp_timeout_ms: 60_000 }));
      const view = await handle.executeUpdate(waitForTransfer);
      expect(view.status).toBe('awaiting_confirmation');
      await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      expect((await handle.executeUpdate(waitForTransfer)).status).toBe('completed');
    });

    it('answers a failed transfer with its failure code and step error codes', async () => {
      const w = wallets(100n);
      const handle = await start(transferInput(w, '1200'));
      const view = await handle.executeUpdate(waitForTransfer);
      expect(view).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });
      expect(step(view, 'reserve').error_code).toBe('insufficient_funds');
    });
  });

  describe('step-up', () => {
    it('waits for the OTP and completes with the right code', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000'));
      const waiting = await waitForStatus(handle, 'awaiting_confirmation');
      expect(step(waiting, 'step_up').status).toBe('running');
      expect(step(waiting, 'reserve').status).toBe('pending');

      const confirmed = await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      expect(confirmed.status).toBe('processing');
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(step(result, 'step_up')).toMatchObject({ status: 'completed', attempts: 1 });
      expect(fake.balance(w.to).posted).toBe(150_000n);
      expect((fake.finalized(handle.workflowId) as { step_up: boolean }).step_up).toBe(true);
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
      expect((await handle.query(getTransfer)).status).toBe('awaiting_confirmation');

      await handle.executeUpdate(confirmOtp, { args: [{ code: FAKE_OTP_CODE }] });
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(step(result, 'step_up')).toMatchObject({ status: 'completed', attempts: 2 });
      await recordHistory(handle, 'transfer-step-up-wrong-then-right');
    });

    it('cancels with otp_failed after three wrong codes', async () => {
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
      expect(step(result, 'step_up')).toMatchObject({ status: 'failed', attempts: 3 });
      expect(fake.effects(handle.workflowId)).toEqual([
        'authorize',
        'otp_send',
        'otp_verify:1',
        'otp_verify:2',
        'otp_verify:3',
        'finalize',
      ]);
      expect(fake.balance(w.from).available).toBe(1_000_000n);
      await recordHistory(handle, 'transfer-step-up-otp-failed');
    });

    it('cancels with otp_expired when no code arrives in time', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000', { otp_timeout_ms: 1_500 }));
      const result = await handle.result();
      expect(result).toMatchObject({ status: 'cancelled', failure_code: 'otp_expired' });
      expect(step(result, 'step_up').status).toBe('failed');
      expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'otp_send', 'finalize']);
      expect(fake.balance(w.from).available).toBe(1_000_000n);
      await recordHistory(handle, 'transfer-step-up-otp-expired');
    });

    it('can be cancelled while waiting for the code', async () => {
      const w = wallets();
      const handle = await start(transferInput(w, '150000'));
      await waitForStatus(handle, 'awaiting_confirmation');
      const view = await handle.executeUpdate(cancelTransfer);
      expect(view).toMatchObject({ status: 'cancelled', failure_code: 'cancelled_by_user' });
      expect(step(view, 'step_up')).toMatchObject({ status: 'failed', error: 'cancelled_by_user' });
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
    expect(fake.effects(handle.workflowId)).toEqual(['authorize', 'otp_send', 'finalize']);
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
});
