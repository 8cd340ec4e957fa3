/**
 * reversalWorkflow — an operator moves a completed transfer's money back, as a SAGA:
 *
 *   hold (undo: release) → capture (pivot) → completed
 *   a refusal → release → failed (nothing moved)
 *
 * The hold keeps the amount on the transfer's destination while the reversal runs, so the payee
 * cannot spend it between the check and the move; the capture posts the `reversal` journal
 * transaction linked to the transfer's capture. Only an input the gateway signed moves anything.
 *
 * When the wallet does not answer — a capture round of 10 minutes ran out (the money may have
 * moved, the answer lost), or the release failed for 10 minutes — the reversal waits in
 * `needs_attention` and sends the same request again after a backoff or on the operator's
 * `retryReversalCompensation` signal; the capture's key is the same, so a capture that did move
 * the money answers `completed` instead of moving it twice.
 */
import {
  condition,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import {
  captureRoundActivityOptions,
  compensationActivityOptions,
  serviceCallActivityOptions,
} from '../temporal-config/activity-options.js';
import { failureMessage, failureType } from './failures.js';
import { DEFAULT_ATTENTION_RETRY_MS, MAX_ATTENTION_RETRY_MS } from './transfer-contract.js';
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
// The pivot, in rounds of 10 minutes with `needs_attention` between them (domain refusals fail
// fast). Runs started before 2026-12-02 retry it unseen until WalletService answers.
const { captureReversal } = proxyActivities<Activities>({
  ...captureRoundActivityOptions,
  summary: 'capture: move the held amount back to the transfer’s source',
});
const { releaseReversal } = proxyActivities<Activities>({
  ...compensationActivityOptions,
  summary: 'release: free the destination’s hold',
});

/**
 * `needs_attention` retries by itself after a backoff, and a capture round that ran out waits
 * there (runs before this release waited for the signal only, and retried the capture unseen).
 */
const PATCH_ATTENTION = '2026-12-02-reversal-needs-attention-retries';

/** Failure types that say "no answer" (an outage, a timeout) rather than the wallet's "no". */
function isOutage(err: unknown): boolean {
  const type = failureType(err);
  return type === undefined || type === 'upstream_unavailable';
}

export async function reversalWorkflow(input: SignedReversalInput): Promise<Reversal> {
  const attempt = input.attempt ?? 1;
  const view: Reversal = {
    id: reversalWorkflowId(input.transfer_id, attempt),
    transfer_id: input.transfer_id,
    attempt,
    status: 'pending',
    allow_partial: input.allow_partial,
    reason: input.reason,
    requested_by: input.requested_by,
    created_at: input.created_at,
  };
  let retryRequested = false;
  /** Automatic retries of what `needs_attention` waits on, so far (the backoff doubles each time). */
  let attentionRounds = 0;
  const setStatus = (status: ReversalStatus, why?: string) => {
    view.status = status;
    setCurrentDetails(
      `**${status}** reversal of transfer \`${input.transfer_id}\`` +
        (attempt === 1 ? '' : `, attempt ${attempt}`) +
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

  /**
   * `needs_attention` until the operator's signal or, from this release on, the backoff:
   * 15 min, doubling up to 4 h.
   */
  async function waitForAttention(why: string): Promise<void> {
    setStatus('needs_attention', `${why} — signal \`retryReversalCompensation\` after fixing`);
    retryRequested = false;
    if (patched(PATCH_ATTENTION)) {
      const backoff = Math.min(DEFAULT_ATTENTION_RETRY_MS * 2 ** attentionRounds, MAX_ATTENTION_RETRY_MS);
      attentionRounds += 1;
      await condition(() => retryRequested, backoff, { summary: 'needs_attention: automatic retry' });
    } else {
      await condition(() => retryRequested);
    }
  }

  /**
   * The pivot: a round that got no answer waits in `needs_attention`, then sends the same
   * request (same key) again; a refusal ends the forward path (nothing moved).
   */
  async function captureInRounds() {
    for (;;) {
      try {
        return await captureReversal({ transfer_id: input.transfer_id });
      } catch (err) {
        if (!isOutage(err) || !patched(PATCH_ATTENTION)) throw err;
        log.error('reversal capture round ran out; waiting in needs_attention', {
          transferId: input.transfer_id,
          error: failureMessage(err),
        });
        await waitForAttention(`capture got no answer from the wallet: ${failureMessage(err)}`);
        setStatus('processing');
      }
    }
  }

  const saga = new Saga();
  let releaseRound = 0;
  try {
    // Registered before the step: a hold whose answer was lost is released too.
    let holdPlaced = false;
    saga.add('hold', async () => {
      releaseRound += 1;
      try {
        await releaseReversal({ transfer_id: input.transfer_id, round: releaseRound });
      } catch (err) {
        // An earlier attempt moved the money back: this one held nothing, so nothing to release.
        if (!holdPlaced && failureType(err) === 'reversal_already_captured' && patched(PATCH_ATTENTION))
          return;
        throw err;
      }
    });
    const held = await holdReversal(input);
    holdPlaced = true;
    Object.assign(view, {
      amount: held.reversal.amount,
      transfer_amount: held.reversal.transfer_amount,
      currency: held.reversal.currency,
    });
    setStatus('processing');
    const captured = await captureInRounds();
    view.transaction_id = captured.reversal.transaction_id ?? undefined;
  } catch (err) {
    view.failure_code = failureType(err) ?? 'internal_error';
    log.warn('reversal refused', { transferId: input.transfer_id, error: failureMessage(err) });
    setStatus('compensating');
    await saga.compensate({
      stuck: async (compensation, stuckErr) => {
        // Never swallowed: the destination's money stays held until the release succeeds.
        log.error('reversal release failed; waiting in needs_attention', {
          transferId: input.transfer_id,
          error: failureMessage(stuckErr),
        });
        await waitForAttention(`undo of ${compensation.step} failed: ${failureMessage(stuckErr)}`);
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
