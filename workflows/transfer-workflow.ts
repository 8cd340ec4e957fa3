/**
 * transferWorkflow — the payment SAGA. Every transfer ends in exactly one of two outcomes:
 * the money moved once (`completed`), or nothing moved (`failed` / `cancelled`, the hold
 * released). When the undo cannot finish, the transfer waits in `needs_attention` for an
 * operator's `retryCompensation` signal instead of pretending.
 *
 *   reserve (undo: release) → [step_up] → capture (pivot, records) → done
 *   any failure → release (records) → failed / cancelled
 *
 * Two WalletService calls on the happy path: reserve authorizes and holds in one transaction,
 * capture moves the money and records the auth log and audit trace in one transaction. Every
 * failure path ends with one release by transfer id that records the same way.
 *
 * This file is the procedure; what the transfer knows and shows is transfer-state.ts, the OTP
 * step-up step-up.ts, the operator's ways out of `needs_attention` needs-attention.ts.
 */
import type { LocalActivityOptions } from '@temporalio/common';
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import {
  captureRoundActivityOptions,
  releaseActivityOptions,
  reserveActivityOptions,
} from '../temporal-config/activity-options.js';
import { failureMessage, failureType } from './failures.js';
import { createNeedsAttention } from './needs-attention.js';
import { failureCodeOfRefusal } from './refusals.js';
import { Saga } from './saga.js';
import { createStepUp } from './step-up.js';
import {
  cancelTransfer,
  DEFAULT_OTP_TIMEOUT_MS,
  getTransfer,
  transferUpdateRefusal,
  WAIT_FOR_TRANSFER_STATUSES,
  waitForTransfer,
  type Transfer,
  type TransferFailureCode,
  type TransferInput,
} from './transfer-contract.js';
import {
  stepErrorCode,
  TransferState,
  type Outcome,
  type Records,
  type StepName,
  type StepRecord,
} from './transfer-state.js';

type Activities = ReturnType<typeof activities.createActivities>;

// One proxy per step: its own timeouts and retry policy, and a summary the Web UI shows. The
// money steps are local activities (one workflow task per transfer); the OTP steps
// (step-up.ts) run while the user waits anyway and stay regular (docs/orchestrator.md,
// "Regular or local activity").
const { reserveTransfer } = proxyLocalActivities<Activities>({
  ...reserveActivityOptions,
  summary:
    'reserve: verify the input, user status and limits, hold the funds, capture them when no step-up is needed (one wallet call)',
});

/**
 * The capture and release steps, whose rounds last `input.wallet_round_ms` when the (signed)
 * input sets it, else the presets' 10 minutes. Built per run: a local activity's options are not
 * part of its marker, so a run replays whatever round length it was started with.
 */
function walletRoundActivities(input: TransferInput) {
  const round = (options: LocalActivityOptions): LocalActivityOptions =>
    input.wallet_round_ms === undefined
      ? options
      : { ...options, scheduleToCloseTimeout: input.wallet_round_ms };
  const { captureTransfer } = proxyLocalActivities<Activities>({
    ...round(captureRoundActivityOptions),
    summary: 'capture: debit the hold, credit the destination, record auth log and audit trace',
  });
  const { releaseTransfer } = proxyLocalActivities<Activities>({
    ...round(releaseActivityOptions),
    summary: 'release: free the hold if any, record auth log and audit trace',
  });
  return { captureTransferRound: captureTransfer, releaseTransfer };
}

/*
 * Changes to the commands of this released workflow go behind `patched('<yyyy-mm-dd>-<what>')`
 * (docs/orchestrator.md, "Versioning rule"). One patch is open, in step-up.ts:
 * `2026-12-02-otp-deadline-while-verifying` (release P). The five of 2026-12-01 went
 * through their three releases, and the histories of the runs this code no longer replays are
 * kept under test/histories/ in the retired-before-<date> folders, each README saying why.
 * The one-call reserve of 2026-12-02 needed none: its new path is taken only on the reserve's
 * new answer (`captured: true`), and a run recorded before it holds the old answer, so it
 * replays down the old path (Versioning rule 1, "No patch for a new branch that only a new answer
 * opens"; test/histories/*.before-2026-12-02.json).
 */

/**
 * How long the hold lives (the wallet computes its expiry): it outlives any sane capture and
 * the longest step-up wait; the expiry sweep frees the funds of an abandoned transfer.
 */
function holdTtlSeconds(input: TransferInput): number {
  const otpSeconds = Math.ceil((input.otp_timeout_ms ?? DEFAULT_OTP_TIMEOUT_MS) / 1000);
  return Math.max(3600, otpSeconds + 900);
}

/** An operator's `resolveAsCompleted` found the capture in the journal: the saga stops undoing. */
class ResolvedAsCompleted extends Error {
  constructor(readonly transactionId: string) {
    super('resolved as completed');
  }
}

/** Ends the forward path of the SAGA with a known failure code. */
class TransferStopped extends Error {
  constructor(
    readonly code: TransferFailureCode,
    readonly outcome: 'failed' | 'cancelled',
  ) {
    super(code);
  }
}

export async function transferWorkflow(input: TransferInput): Promise<Transfer> {
  const { captureTransferRound, releaseTransfer } = walletRoundActivities(input);
  const state = new TransferState(input);
  const forward = new CancellationScope();
  // Every handler is registered before the first await (an Update-with-Start arrives with the start).
  handleViewAndCancel(state, forward);
  const stepUp = createStepUp(state);
  const attention = createNeedsAttention(state);
  state.showDetails();

  const saga = new Saga();
  /** Built once when the forward path stops, so every retry of the release sends the same body. */
  let releaseRecords: Records | undefined;
  let holdId: string | undefined;
  /** The reserve step as the forward path left it (restored when nothing had to be released). */
  let reserveOutcome: Pick<StepRecord, 'status' | 'error_code' | 'error'> = { status: 'pending' };
  /** Set when the reserve captured in the same wallet call (no step-up needed). */
  let capturedAtReserve = false;

  try {
    await forward.run(async () => {
      // Registered before the step: a reserve that timed out after the wallet placed the hold is
      // undone too (the release finds the hold by transfer id). A refused reserve placed nothing;
      // the release then only records.
      saga.add('reserve', async () => {
        const { released } = await releaseTransfer({
          transfer_id: input.transfer_id,
          records: releaseRecords!,
        });
        if (released || holdId !== undefined) {
          state.updateStep('reserve', { status: 'compensated', error_code: undefined, error: undefined });
        } else if (state.step('reserve').status === 'compensation_failed') {
          // A refused reserve placed nothing: after an operator's retry it shows its refusal again.
          state.updateStep('reserve', { ...reserveOutcome });
        }
      });
      // The reserve captures at once when no step-up is needed, with the records the capture
      // would write after a completed reserve and a skipped step-up. What decides the commands
      // is its answer, never this request: a run recorded before the one-call reserve replays its
      // old answer (no `captured`) and goes on to the capture as it did.
      const capture = { capture: { records: state.capturedAtReserveRecords() } };
      // Not cancellable: a cancel during the wallet call waits for its answer, so the release
      // that follows always sees the hold the call placed (or the transfer completes, when the
      // call captured: past the pivot, as after a capture).
      const reserved = await CancellationScope.nonCancellable(() =>
        state.runStep('reserve', () =>
          reserveTransfer({ transfer: input, hold_ttl_seconds: holdTtlSeconds(input), ...capture }),
        ),
      );
      holdId = reserved.hold_id;
      state.stepUpRequired = reserved.step_up_required;
      if (reserved.captured === true) {
        state.pastPivot = true;
        capturedAtReserve = true;
        const reserveStep = state.step('reserve');
        state.updateStep('step_up', { status: 'skipped' });
        state.updateStep('capture', {
          status: 'completed',
          attempts: reserved.attempt,
          started_ms: reserveStep.started_ms,
          ended_ms: reserveStep.ended_ms,
        });
        return;
      }
      if (forward.consideredCancelled) throw cancelled();

      // The hold is in place while the user finds the code, as a card payment's authorization is.
      if (state.stepUpRequired) {
        const outcome = await stepUp.run();
        if (outcome !== 'confirmed') throw new TransferStopped(outcome, 'cancelled');
      } else {
        state.updateStep('step_up', { status: 'skipped' });
      }
    });

    if (capturedAtReserve) {
      // The money moved with the reserve, in this workflow task: `processing` could never be
      // seen (it is what visibility shows while a capture round retries), so it is not upserted.
      return finish('completed');
    }
    if (state.cancelledByUser || forward.consideredCancelled) throw cancelled();
    // The pivot: not cancellable. A domain refusal (destination frozen, hold expired) means
    // nothing moved, so the hold is released; an outage is retried until the wallet answers.
    state.pastPivot = true;
    state.setStatus('processing');
    const captureInput = {
      hold_id: holdId!,
      to_wallet_id: input.to_wallet_id,
      amount: input.amount,
      records: state.records('completed'),
    };
    await CancellationScope.nonCancellable(() => captureInRounds(captureInput));
  } catch (err) {
    const stop = toStop(err);
    state.failureCode = stop.code;
    state.failRunningSteps(stop.code);
    releaseRecords = state.records(stop.outcome, stop.code);
    const { status: reserveStatus, error_code, error } = state.step('reserve');
    reserveOutcome = { status: reserveStatus, error_code, error };
    try {
      await compensate(saga);
    } catch (resolved) {
      if (!(resolved instanceof ResolvedAsCompleted)) throw resolved;
      // The journal shows the capture: the money moved once; nothing was or will be undone.
      state.failureCode = undefined;
      state.attentionReason = undefined;
      state.updateStep('reserve', { status: 'completed', error_code: undefined, error: undefined });
      state.updateStep('capture', { status: 'completed', error_code: undefined, error: undefined });
      return finish('completed');
    }
    return finish(stop.outcome);
  }

  return finish('completed');

  // --- steps and helpers ----------------------------------------------------------------------

  function cancelled(): TransferStopped {
    return new TransferStopped(
      state.cancelledByUser ? 'cancelled_by_user' : 'cancelled_by_operator',
      'cancelled',
    );
  }

  /**
   * The pivot in rounds: each round retries until WalletService answers or 10 minutes pass. A
   * refusal ends the forward path (nothing moved, the hold is released); a round that ran out
   * (an outage, or 401/403 from a refused token) puts the transfer in `needs_attention` until
   * the backoff or an operator's `retryCompensation`, then the same request is sent again.
   */
  async function captureInRounds(request: activities.CaptureInput): Promise<void> {
    for (;;) {
      try {
        await state.runStep('capture', () => captureTransferRound(request));
        return;
      } catch (err) {
        const type = failureType(err);
        if (failureCodeOfRefusal(type) !== undefined) throw err;
        state.attentionReason = `capture got no answer from the wallet: ${failureMessage(err)}`;
        log.error('capture round ran out; waiting in needs_attention', {
          transferId: input.transfer_id,
          reason: state.attentionReason,
        });
        await attention.wait(true);
        state.attentionReason = undefined;
        state.setStatus('processing');
      }
    }
  }

  /** Records the outcome and returns once every update handler has answered. */
  async function finish(outcome: Outcome): Promise<Transfer> {
    state.completedAt = new Date().toISOString();
    state.setStatus(outcome);
    // Not cancellable: an operator's cancel after the outcome must not turn it into an error.
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    return state.view();
  }

  /** Maps whatever stopped the forward path to the transfer's outcome. */
  function toStop(err: unknown): TransferStopped {
    if (err instanceof TransferStopped) return err;
    if (isCancellation(err)) return cancelled();
    const type = failureType(err);
    log.warn('transfer step failed', { transferId: input.transfer_id, type, error: failureMessage(err) });
    return new TransferStopped(failureCodeOfRefusal(type) ?? 'internal_error', 'failed');
  }

  async function compensate(s: Saga): Promise<void> {
    if (s.size === 0) return;
    state.setStatus('compensating');
    await s.compensate({
      stuck: async (compensation, err) => {
        const reason = `undo of ${compensation.step} failed: ${failureMessage(err)}`;
        log.error('compensation failed; waiting for an operator', { transferId: input.transfer_id, reason });
        state.attentionReason = reason;
        state.updateStep(compensation.step as StepName, {
          status: 'compensation_failed',
          error_code: stepErrorCode(err),
          error: failureMessage(err),
        });
        // A captured hold is never released by a retry: the operator resolves it (the money moved).
        await attention.wait(stepErrorCode(err) !== 'hold_already_captured');
        if (attention.resolution !== undefined)
          throw new ResolvedAsCompleted(attention.resolution.transaction_id);
        state.attentionReason = undefined;
        state.setStatus('compensating');
      },
    });
  }
}

/**
 * The query, `waitForTransfer` (answers once the transfer is settled or awaits the code) and the
 * user's `cancelTransfer`, honoured until the capture is scheduled.
 */
function handleViewAndCancel(state: TransferState, forward: CancellationScope): void {
  setHandler(getTransfer, () => state.view());

  setHandler(waitForTransfer, async () => {
    await condition(() => WAIT_FOR_TRANSFER_STATUSES.includes(state.status));
    return state.view();
  });

  setHandler(
    cancelTransfer,
    async () => {
      if (!state.settled() && !state.cancelledByUser) {
        state.cancelledByUser = true;
        forward.cancel();
      }
      // Answer at once when the outcome is already decided, without a condition to wait on: a
      // cancel that arrived while a local activity's attempt was running is answered in its own
      // activation, but on replay the attempt's result (a retry backoff timer) is delivered in
      // the same activation, and the condition's extra microtask turns put the timer before the
      // update's completion: [TMPRL1100] "Timer machine does not handle this event:
      // WorkflowExecutionUpdateCompleted" (test/histories/transfer-cancel-answered-during-
      // release-backoff*.json, found by the fault fuzzer; docs/reliability.md).
      if (!state.decided()) await condition(() => state.decided());
      return state.view();
    },
    {
      validator: () => {
        // Once capture is scheduled the transfer completes (also through needs_attention); a
        // transfer already failing after a refused capture is answered with its view by the
        // handler (nothing left to cancel).
        if (state.status === 'completed' || (state.pastPivot && state.failureCode === undefined)) {
          throw transferUpdateRefusal(
            'cannot_cancel',
            'the funds were already captured; the transfer cannot be cancelled',
          );
        }
      },
    },
  );
}
