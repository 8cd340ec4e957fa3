/**
 * reversalWorkflow through the real activities and WalletService: the money goes back once,
 * a refusal releases the hold and moves nothing, and an unsigned start moves nothing.
 */
import { randomUUID } from 'node:crypto';
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
import { reversalStartOptions, type SignedReversalInput } from './reversal-contract.js';
import { reversalWorkflow } from './reversal-workflow.js';

let upstreams: LiveUpstreams;
let ctx: WorkflowTestContext;

beforeAll(async () => {
  upstreams = await startLiveUpstreams();
  ctx = await startWorkflowTestWorker(`reversal-${randomUUID()}`, upstreams.activities);
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

/** Runs the reversal to its end; `history` names its recorded history (VELORA_RECORD_HISTORIES=1). */
async function reverse(
  transferId: string,
  options: { allowPartial?: boolean; signature?: string; history?: string } = {},
) {
  const unsigned = {
    transfer_id: transferId,
    reason: 'sent to the wrong person (ticket 9)',
    allow_partial: options.allowPartial ?? false,
    requested_by: 'admin-42',
    created_at: new Date().toISOString(),
  };
  const input: SignedReversalInput =
    options.signature === undefined
      ? signWorkflowInput(unsigned, LIVE_WORKFLOW_INPUT_KEY)
      : { ...unsigned, signature: options.signature };
  const handle = await ctx.env.client.workflow.start(reversalWorkflow, {
    ...reversalStartOptions(input),
    taskQueue: ctx.taskQueue,
  });
  const result = await handle.result();
  if (options.history) await recordHistory(handle, options.history);
  return result;
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
