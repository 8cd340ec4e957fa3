/**
 * reversalWorkflow — an operator moves a completed transfer's money back, as a SAGA:
 *
 *   hold (undo: release) → capture (pivot) → completed
 *   a refusal → release → failed (nothing moved)
 *
 * The hold keeps the amount on the transfer's destination while the reversal runs, so the payee
 * cannot spend it between the check and the move; the capture posts the `reversal` journal
 * transaction linked to the transfer's capture. Only an input the gateway signed moves anything.
 */
import { condition, log, proxyActivities, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import {
  captureActivityOptions,
  compensationActivityOptions,
  serviceCallActivityOptions,
} from '../temporal-config/activity-options.js';
import { failureMessage, failureType } from './failures.js';
import {
  getReversal,
  retryReversalCompensation,
  reversalWorkflowId,
  type Reversal,
  type ReversalStatus,
  type SignedReversalInput,
} from './reversal-contract.js';
import { Saga } from './saga.js';

type Activities = ReturnType<typeof activities.createActivities>;

const { holdReversal } = proxyActivities<Activities>({
  ...serviceCallActivityOptions,
  summary: 'hold: verify the input, hold the amount on the transfer’s destination',
});
// The pivot: once decided it is retried until WalletService answers (domain refusals fail fast).
const { captureReversal } = proxyActivities<Activities>({
  ...captureActivityOptions,
  summary: 'capture: move the held amount back to the transfer’s source',
});
const { releaseReversal } = proxyActivities<Activities>({
  ...compensationActivityOptions,
  summary: 'release: free the destination’s hold',
});

export async function reversalWorkflow(input: SignedReversalInput): Promise<Reversal> {
  const view: Reversal = {
    id: reversalWorkflowId(input.transfer_id),
    transfer_id: input.transfer_id,
    status: 'pending',
    allow_partial: input.allow_partial,
    reason: input.reason,
    requested_by: input.requested_by,
    created_at: input.created_at,
  };
  let retryRequested = false;
  const setStatus = (status: ReversalStatus, why?: string) => {
    view.status = status;
    setCurrentDetails(
      `**${status}** reversal of transfer \`${input.transfer_id}\`` +
        (view.amount ? ` (${view.amount} ${view.currency ?? ''})` : '') +
        (view.failure_code ? `\nfailure: \`${view.failure_code}\`` : '') +
        (why ? `\n${why}` : ''),
    );
  };
  setHandler(getReversal, () => view);
  setHandler(retryReversalCompensation, () => {
    if (view.status === 'needs_attention') retryRequested = true;
  });
  setStatus('pending');

  const saga = new Saga();
  let releaseRound = 0;
  try {
    // Registered before the step: a hold whose answer was lost is released too.
    saga.add('hold', async () => {
      releaseRound += 1;
      await releaseReversal({ transfer_id: input.transfer_id, round: releaseRound });
    });
    const held = await holdReversal(input);
    Object.assign(view, {
      amount: held.reversal.amount,
      transfer_amount: held.reversal.transfer_amount,
      currency: held.reversal.currency,
    });
    setStatus('processing');
    const captured = await captureReversal({ transfer_id: input.transfer_id });
    view.transaction_id = captured.reversal.transaction_id ?? undefined;
  } catch (err) {
    view.failure_code = failureType(err) ?? 'internal_error';
    log.warn('reversal refused', { transferId: input.transfer_id, error: failureMessage(err) });
    setStatus('compensating');
    await saga.compensate({
      stuck: async (compensation, stuckErr) => {
        // Never swallowed: the destination's money stays held until the release succeeds.
        setStatus(
          'needs_attention',
          `undo of ${compensation.step} failed: ${failureMessage(stuckErr)} — signal \`retryReversalCompensation\``,
        );
        retryRequested = false;
        await condition(() => retryRequested);
        setStatus('compensating');
      },
    });
    view.completed_at = new Date().toISOString();
    setStatus('failed');
    return view;
  }
  view.completed_at = new Date().toISOString();
  setStatus('completed');
  return view;
}
