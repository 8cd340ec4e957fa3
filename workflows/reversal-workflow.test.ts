/**
 * reversalWorkflow through the real activities and WalletService: the money goes back once,
 * a refusal releases the hold and moves nothing, and an unsigned start moves nothing; a wallet
 * that does not answer parks it in needs_attention until the operator's retry; a refused
 * reversal asked again (the next attempt) moves the money back once.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LIVE_WORKFLOW_INPUT_KEY,
  startLiveUpstreams,
  type LiveUpstreams,
} from '../activities/testing/live-upstreams.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import {
  recordHistory,
  startWorkflowTestWorker,
  type WorkflowTestContext,
} from '../workers/testing/workflow-test-env.js';
import {
  getReversal,
  retryReversalCompensation,
  reversalStartOptions,
  type Reversal,
  type ReversalStatus,
  type SignedReversalInput,
} from './reversal-contract.js';
import { reversalWorkflow } from './reversal-workflow.js';

let upstreams: LiveUpstreams;
let ctx: WorkflowTestContext;

/**
 * Faults of the wallet's answers, by transfer id: `lost_answer` — the wallet applied the step,
 * then its answer was lost until the round's retries ran out; `outage` — no answer, nothing
 * applied; `refusal` — the wallet's "no" with that code, nothing applied.
 */
type Fault = { kind: 'lost_answer' | 'outage' } | { kind: 'refusal'; code: string };
const faults = new Map<string, Map<'captureReversal' | 'releaseReversal', Fault>>();

function inject(transferId: string, activity: 'captureReversal' | 'releaseReversal', fault: Fault) {
  const byActivity = faults.get(transferId) ?? new Map<'captureReversal' | 'releaseReversal', Fault>();
  byActivity.set(activity, fault);
  faults.set(transferId, byActivity);
}

/** Takes the injected fault (each fires once) and plays it around the real call. */
async function withFault<T>(
  transferId: string,
  activity: 'captureReversal' | 'releaseReversal',
  call: () => Promise<T>,
): Promise<T> {
  const fault = faults.get(transferId)?.get(activity);
  if (!fault) return call();
  faults.get(transferId)!.delete(activity);
  if (fault.kind === 'refusal') throw ApplicationFailure.nonRetryable(`injected ${fault.code}`, fault.code);
  if (fault.kind === 'lost_answer') await call();
  // What the activity reports once its retry policy gave up on an outage.
  throw ApplicationFailure.nonRetryable(`injected ${fault.kind} in ${activity}`, 'upstream_unavailable');
}

beforeAll(async () => {
  upstreams = await startLiveUpstreams();
  const real = upstreams.activities;
  ctx = await startWorkflowTestWorker(`reversal-${randomUUID()}`, {
    ...real,
    captureReversal: (input: Parameters<typeof real.captureReversal>[0]) =>
      withFault(input.transfer_id, 'captureReversal', () => real.captureReversal(input)),
    releaseReversal: (input: Parameters<typeof real.releaseReversal>[0]) =>
      withFault(input.transfer_id, 'releaseReversal', () => real.releaseReversal(input)),
  });
});

afterAll(async () => {
  await ctx?.stop();
  await upstreams?.close();
});

/** A completed transfer of `amount` from a wallet funded with 10,000 to a fresh one. */
async function completedTransfer(amount: string) {
  const w = upstreams.wallet;
  const from = await w.wallet('USD', 10_000n);
  const to = await w.wallet('USD');
  const hold = await w.hold(from, amount, { to });
  const capture = await w.call('POST', `/internal/holds/${hold.body.id}/capture`, {
    body: { to_wallet_id: to },
    key: randomUUID(),
  });
  expect(capture.status).toBe(200);
  return { from, to, transferId: hold.transferId };
}

interface ReverseOptions {
  allowPartial?: boolean;
  signature?: string;
  attempt?: number;
  history?: string;
}

/** Starts the reversal as the gateway does (signed input, its start options). */
async function startReversal(transferId: string, options: ReverseOptions = {}) {
  const unsigned = {
    transfer_id: transferId,
    reason: 'sent to the wrong person (ticket 9)',
    allow_partial: options.allowPartial ?? false,
    requested_by: 'admin-42',
    created_at: new Date().toISOString(),
    ...(options.attempt === undefined ? {} : { attempt: options.attempt }),
  };
  const input: SignedReversalInput =
    options.signature === undefined
      ? signWorkflowInput(unsigned, LIVE_WORKFLOW_INPUT_KEY)
      : { ...unsigned, signature: options.signature };
  return ctx.env.client.workflow.start(reversalWorkflow, {
    ...reversalStartOptions(input),
    taskQueue: ctx.taskQueue,
  });
}

/** Runs the reversal to its end; `history` names its recorded history (VELORA_RECORD_HISTORIES=1). */
async function reverse(transferId: string, options: ReverseOptions = {}) {
  const handle = await startReversal(transferId, options);
  const result = await handle.result();
  if (options.history) await recordHistory(handle, options.history);
  return result;
}

/** Polls the reversal's query until it shows `status` (the workflow answers within a second). */
async function waitForStatus(handle: WorkflowHandle, status: ReversalStatus): Promise<Reversal> {
  for (let i = 0; i < 300; i += 1) {
    const view = await handle.query(getReversal);
    if (view.status === status) return view;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`reversal ${handle.workflowId} never reached ${status}`);
}

/** The `reversal` journal transactions of a transfer: at most one, whatever happened. */
async function reversalTransactions(transferId: string) {
  return upstreams.wallet.db
    .selectFrom('journal_transactions')
    .select('id')
    .where('kind', '=', 'reversal')
    .where('transfer_id', '=', transferId)
    .execute();
}

/** The payee spends `amount` of what it received (a captured transfer to a third wallet). */
async function spend(wallet: string, amount: string) {
  const spent = await upstreams.wallet.hold(wallet, amount);
  await upstreams.wallet.call('POST', `/internal/holds/${spent.body.id}/capture`, {
    body: { to_wallet_id: await upstreams.wallet.wallet('USD') },
    key: randomUUID(),
  });
}

describe('reversalWorkflow with the real WalletService', () => {
  it('moves the amount back from the destination to the source, once', async () => {
    const t = await completedTransfer('2500');
    const result = await reverse(t.transferId, { history: 'reversal-completed' });
    expect(result).toMatchObject({
      status: 'completed',
      transfer_id: t.transferId,
      amount: '2500',
      requested_by: 'admin-42',
      transaction_id: expect.any(String),
    });
    expect(await upstreams.wallet.balance(t.from)).toEqual({
      posted: '10000',
      pending: '0',
      available: '10000',
    });
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '0', pending: '0', available: '0' });
  });

  it('fails with reversal_insufficient_funds when the destination spent it, releasing nothing it did not hold', async () => {
    const t = await completedTransfer('3000');
    const spent = await upstreams.wallet.hold(t.to, '2000');
    await upstreams.wallet.call('POST', `/internal/holds/${spent.body.id}/capture`, {
      body: { to_wallet_id: await upstreams.wallet.wallet('USD') },
      key: randomUUID(),
    });
    const refused = await reverse(t.transferId, { history: 'reversal-insufficient-funds' });
    expect(refused).toMatchObject({ status: 'failed', failure_code: 'reversal_insufficient_funds' });
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '1000', pending: '0', available: '1000' });
    expect((await upstreams.wallet.balance(t.from)).posted).toBe('7000');
  });

  it('reverses what is left when a partial reversal is allowed', async () => {
    const t = await completedTransfer('3000');
    const spent = await upstreams.wallet.hold(t.to, '1000');
    await upstreams.wallet.call('POST', `/internal/holds/${spent.body.id}/capture`, {
      body: { to_wallet_id: await upstreams.wallet.wallet('USD') },
      key: randomUUID(),
    });
    const partial = await reverse(t.transferId, { allowPartial: true, history: 'reversal-partial' });
    expect(partial).toMatchObject({ status: 'completed', amount: '2000', transfer_amount: '3000' });
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '0', pending: '0', available: '0' });
    expect((await upstreams.wallet.balance(t.from)).posted).toBe('9000');
  });

  it('refuses a start without the gateway’s signature and moves nothing', async () => {
    const t = await completedTransfer('800');
    const result = await reverse(t.transferId, { signature: 'forged', history: 'reversal-forged-signature' });
    expect(result).toMatchObject({ status: 'failed', failure_code: 'not_authorized' });
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '800', pending: '0', available: '800' });
    expect((await upstreams.wallet.balance(t.from)).posted).toBe('9200');
  });
});

describe('reversalWorkflow when the wallet does not answer (needs_attention)', () => {
  it('waits in needs_attention when the capture’s answer was lost, and completes on the operator’s retry without moving twice', async () => {
    const t = await completedTransfer('1200');
    inject(t.transferId, 'captureReversal', { kind: 'lost_answer' });
    const handle = await startReversal(t.transferId);
    const stuck = await waitForStatus(handle, 'needs_attention');
    expect(stuck.failure_code).toBeUndefined();
    // The money did move: the wallet applied the capture whose answer was lost.
    expect((await upstreams.wallet.balance(t.from)).posted).toBe('10000');
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '0', pending: '0', available: '0' });

    await handle.signal(retryReversalCompensation);
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', amount: '1200', transaction_id: expect.any(String) });
    expect(await reversalTransactions(t.transferId)).toEqual([{ id: result.transaction_id }]);
    expect((await upstreams.wallet.balance(t.from)).posted).toBe('10000');
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '0', pending: '0', available: '0' });
    await recordHistory(handle, 'reversal-capture-needs-attention');
  });

  it('waits in needs_attention when the release fails, keeps the payee’s money held, and ends failed after the retry', async () => {
    const t = await completedTransfer('1300');
    inject(t.transferId, 'captureReversal', { kind: 'refusal', code: 'hold_not_active' });
    inject(t.transferId, 'releaseReversal', { kind: 'outage' });
    const handle = await startReversal(t.transferId);
    const stuck = await waitForStatus(handle, 'needs_attention');
    expect(stuck.failure_code).toBe('hold_not_active');
    // Held for the reversal until its release goes through: the payee cannot spend it meanwhile.
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '1300', pending: '1300', available: '0' });

    await handle.signal(retryReversalCompensation);
    expect(await handle.result()).toMatchObject({ status: 'failed', failure_code: 'hold_not_active' });
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '1300', pending: '0', available: '1300' });
    expect((await upstreams.wallet.balance(t.from)).posted).toBe('8700');
    expect(await reversalTransactions(t.transferId)).toEqual([]);
    await recordHistory(handle, 'reversal-release-needs-attention');
  });
});

describe('reversalWorkflow asked again after a refusal (the next attempt)', () => {
  it('moves the money back on a later attempt once the payee holds it again, and never twice', async () => {
    const t = await completedTransfer('3000');
    await spend(t.to, '2000');
    const refused = await reverse(t.transferId);
    expect(refused).toMatchObject({
      id: `reversal-${t.transferId}`,
      attempt: 1,
      status: 'failed',
      failure_code: 'reversal_insufficient_funds',
    });

    // A second attempt whose capture the wallet refuses gives its hold back (the reversal released)…
    const topUp = await upstreams.wallet.hold(await upstreams.wallet.wallet('USD', 5000n), '2500', {
      to: t.to,
    });
    await upstreams.wallet.call('POST', `/internal/holds/${topUp.body.id}/capture`, {
      body: { to_wallet_id: t.to },
      key: randomUUID(),
    });
    inject(t.transferId, 'captureReversal', { kind: 'refusal', code: 'hold_not_active' });
    const released = await reverse(t.transferId, { attempt: 2 });
    expect(released).toMatchObject({
      id: `reversal-${t.transferId}.attempt-2`,
      attempt: 2,
      status: 'failed',
      failure_code: 'hold_not_active',
    });
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '3500', pending: '0', available: '3500' });

    // …and the third moves the whole amount back, once.
    const done = await reverse(t.transferId, { attempt: 3, history: 'reversal-retried-after-refusal' });
    expect(done).toMatchObject({
      id: `reversal-${t.transferId}.attempt-3`,
      attempt: 3,
      status: 'completed',
      amount: '3000',
    });
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '500', pending: '0', available: '500' });
    expect((await upstreams.wallet.balance(t.from)).posted).toBe('10000');

    // Completed: a further attempt is refused by the wallet and moves nothing.
    const again = await reverse(t.transferId, { attempt: 4 });
    expect(again).toMatchObject({ status: 'failed', failure_code: 'transfer_already_reversed' });
    expect(await reversalTransactions(t.transferId)).toEqual([{ id: done.transaction_id }]);
    expect((await upstreams.wallet.balance(t.from)).posted).toBe('10000');
    expect(await upstreams.wallet.balance(t.to)).toEqual({ posted: '500', pending: '0', available: '500' });
  });
});
