/**
 * transferWorkflow — the payment SAGA. Every transfer ends in exactly one of two outcomes:
 * the money moved once (`completed`), or nothing moved (`failed` / `cancelled`, every hold
 * released). When an undo cannot finish, the transfer waits in `needs_attention` for an
 * operator's `retryCompensation` signal instead of pretending.
 *
 *   authorize → [step_up] → reserve (undo: release) → capture (pivot) → finalize
 */
import { ApplicationFailure, type SearchAttributePair } from '@temporalio/common';
import {
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  allHandlersFinished,
  log,
} from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import {
  authorizeActivityOptions,
  captureActivityOptions,
  compensationActivityOptions,
  otpActivityOptions,
  recordActivityOptions,
  reserveActivityOptions,
} from '../temporal-config/activity-options.js';
import { failureAttempt, failureDetails, failureMessage, failureType } from './failures.js';
import { Saga } from './saga.js';
import {
  cancelTransfer,
  confirmOtp,
  DEFAULT_OTP_TIMEOUT_MS,
  getTransfer,
  MAX_OTP_TRIES,
  retryCompensation,
  TERMINAL_STATUSES,
  transferSearchAttributes,
  WAIT_FOR_TRANSFER_STATUSES,
  waitForTransfer,
  type Transfer,
  type TransferFailureCode,
  type TransferInput,
  type TransferStatus,
  type TransferStep,
} from './transfer-contract.js';

type Activities = ReturnType<typeof activities.createActivities>;

// One proxy per step: its own timeouts and retry policy, and a summary the Web UI shows.
const { authorizeTransfer } = proxyActivities<Activities>({
  ...authorizeActivityOptions,
  summary: 'authorize: user status, wallet ownership, currency, limits',
});
const { sendStepUpOtp } = proxyActivities<Activities>({
  ...otpActivityOptions,
  summary: 'step-up: send the OTP',
});
const { verifyStepUpOtp } = proxyActivities<Activities>({
  ...otpActivityOptions,
  summary: 'step-up: verify the OTP',
});
const { reserveFunds } = proxyActivities<Activities>({
  ...reserveActivityOptions,
  summary: 'reserve: hold funds on the source wallet',
});
const { captureFunds } = proxyActivities<Activities>({
  ...captureActivityOptions,
  summary: 'capture: debit the hold, credit the destination',
});
const { releaseFunds } = proxyActivities<Activities>({
  ...compensationActivityOptions,
  summary: 'compensate reserve: release the hold',
});
const { finalizeTransfer } = proxyActivities<Activities>({
  ...recordActivityOptions,
  summary: 'finalize: auth log and audit trace',
});

/** A hold outlives any sane capture; the expiry sweep frees funds of an abandoned transfer. */
const HOLD_TTL_MS = 60 * 60 * 1000;

/** Step names in the order they run; the `Transfer.steps` view lists all of them. */
export const TRANSFER_STEPS = ['authorize', 'step_up', 'reserve', 'capture', 'finalize'] as const;
type StepName = (typeof TRANSFER_STEPS)[number];

/** Domain codes that are transfer failure codes as they are. */
const DIRECT_FAILURE_CODES: ReadonlySet<string> = new Set<TransferFailureCode>([
  'insufficient_funds',
  'limit_exceeded',
  'wallet_frozen',
  'wallet_not_found',
  'currency_mismatch',
  'not_authorized',
]);

/** The stable code of a step's failure: the domain code, or what kind of outage it was. */
function stepErrorCode(err: unknown): string {
  const type = failureType(err);
  if (type !== undefined) return type;
  if (isCancellation(err)) return 'cancelled';
  return failureMessage(err).startsWith('timed out') ? 'upstream_unavailable' : 'internal_error';
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

interface StepRecord extends TransferStep {
  started_ms?: number;
  ended_ms?: number;
}

export async function transferWorkflow(input: TransferInput): Promise<Transfer> {
  const steps = new Map<StepName, StepRecord>(
    TRANSFER_STEPS.map((name) => [name, { name, status: 'pending', attempts: 0 }]),
  );
  let status: TransferStatus = 'pending';
  let failureCode: TransferFailureCode | undefined;
  let completedAt: string | undefined;
  let attentionReason: string | undefined;
  /** Set once capture is scheduled: from then on the transfer can no longer be cancelled. */
  let pastPivot = false;
  let cancelledByUser = false;
  let retryRequested = false;
  let stepUpRequired = false;

  const otp: {
    challengeId?: string;
    tries: number;
    wrong: number;
    verifying: boolean;
    outcome?: 'confirmed' | 'otp_failed' | 'otp_expired';
  } = { tries: 0, wrong: 0, verifying: false };

  const view = (): Transfer => ({
    id: input.transfer_id,
    status,
    from_wallet_id: input.from_wallet_id,
    to_wallet_id: input.to_wallet_id,
    amount: input.amount,
    currency: input.currency,
    description: input.description,
    steps: [...steps.values()].map(({ name, status: s, attempts, error_code, error }) => ({
      name,
      status: s,
      attempts,
      ...(error_code === undefined ? {} : { error_code }),
      ...(error === undefined ? {} : { error }),
    })),
    ...(failureCode === undefined ? {} : { failure_code: failureCode }),
    created_at: input.created_at,
    ...(completedAt === undefined ? {} : { completed_at: completedAt }),
  });
  const settled = () => TERMINAL_STATUSES.includes(status) || status === 'needs_attention';

  /** Every status change is visible: search attributes, current details, the query. */
  const setStatus = (next: TransferStatus) => {
    status = next;
    const terminal = TERMINAL_STATUSES.includes(next);
    const pairs: SearchAttributePair[] = transferSearchAttributes(
      input,
      next,
      terminal ? failureCode : undefined,
    );
    upsertSearchAttributes(pairs);
    showDetails();
  };
  const showDetails = () => {
    const lines = [
      `**${status}** — ${input.amount} ${input.currency} \`${input.from_wallet_id}\` → \`${input.to_wallet_id}\``,
      ...[...steps.values()].map(
        (s) =>
          `- ${s.name}: ${s.status}${s.attempts > 1 ? ` (${s.attempts} attempts)` : ''}${s.error ? ` — ${s.error}` : ''}`,
      ),
    ];
    if (failureCode) lines.push(`failure: \`${failureCode}\``);
    if (attentionReason)
      lines.push(`needs attention: ${attentionReason} — signal \`retryCompensation\` after fixing`);
    setCurrentDetails(lines.join('\n'));
  };
  const updateStep = (name: StepName, patch: Partial<StepRecord>) => {
    const step = steps.get(name)!;
    Object.assign(step, patch);
    if (patch.error === undefined && 'error' in patch) delete step.error;
    if (patch.error_code === undefined && 'error_code' in patch) delete step.error_code;
    showDetails();
  };

  /** Runs one forward step: marks it running, records attempts, result or error. */
  async function runStep<T extends { attempt: number }>(name: StepName, fn: () => Promise<T>): Promise<T> {
    updateStep(name, { status: 'running', started_ms: Date.now() });
    try {
      const result = await fn();
      updateStep(name, {
        status: 'completed',
        attempts: result.attempt,
        ended_ms: Date.now(),
        error: undefined,
        error_code: undefined,
      });
      return result;
    } catch (err) {
      const attempts = failureAttempt(err) ?? Math.max(1, steps.get(name)!.attempts);
      updateStep(name, {
        status: 'failed',
        attempts,
        ended_ms: Date.now(),
        error_code: stepErrorCode(err),
        error: failureMessage(err),
      });
      throw err;
    }
  }

  // --- queries, updates, signals -------------------------------------------------------------
  setHandler(getTransfer, view);

  setHandler(waitForTransfer, async () => {
    await condition(() => WAIT_FOR_TRANSFER_STATUSES.includes(status));
    return view();
  });

  setHandler(retryCompensation, () => {
    if (status === 'needs_attention') retryRequested = true;
  });

  const forward = new CancellationScope();

  setHandler(
    cancelTransfer,
    async () => {
      if (!settled() && !cancelledByUser) {
        cancelledByUser = true;
        forward.cancel();
      }
      await condition(settled);
      return view();
    },
    {
      validator: () => {
        // Once capture is scheduled the transfer completes; a transfer already failing after a
        // refused capture is answered with its view by the handler (nothing left to cancel).
        if (status === 'completed' || (pastPivot && status === 'processing')) {
          throw ApplicationFailure.nonRetryable(
            'the funds were already captured; the transfer cannot be cancelled',
            'cannot_cancel',
          );
        }
      },
    },
  );

  setHandler(
    confirmOtp,
    async ({ code }) => {
      otp.verifying = true;
      const tryNumber = ++otp.tries;
      try {
        const res = await verifyStepUpOtp({
          challenge_id: otp.challengeId!,
          user_id: input.initiated_by.user_id,
          code,
          try_number: tryNumber,
        });
        updateStep('step_up', { attempts: tryNumber, error_code: undefined, error: undefined });
        otp.outcome = 'confirmed';
        log.info('step-up confirmed', { transferId: input.transfer_id, attempt: res.attempt });
        // Answer with the transfer moving on (processing), not the stale "awaiting" view.
        await condition(() => status !== 'awaiting_confirmation');
        return view();
      } catch (err) {
        const type = failureType(err);
        updateStep('step_up', {
          attempts: tryNumber,
          error_code: stepErrorCode(err),
          error: failureMessage(err),
        });
        if (type === 'otp_invalid') {
          otp.wrong += 1;
          const left = MAX_OTP_TRIES - otp.wrong;
          if (left > 0) {
            throw ApplicationFailure.nonRetryable(`wrong code, ${left} attempt(s) left`, 'otp_invalid', {
              attempts_left: left,
            });
          }
          otp.outcome = 'otp_failed';
        } else if (type === 'otp_exhausted') {
          otp.outcome = 'otp_failed';
        } else if (type === 'otp_expired') {
          otp.outcome = 'otp_expired';
        } else {
          // An outage of AuthService is not the user's fault: the transfer keeps waiting.
          throw ApplicationFailure.nonRetryable(
            'the code could not be checked right now; try again',
            'upstream_unavailable',
            {
              reason: failureMessage(err),
            },
          );
        }
        const outcome = otp.outcome;
        await condition(settled);
        throw ApplicationFailure.nonRetryable(
          outcome === 'otp_failed'
            ? 'too many wrong codes: the transfer was cancelled'
            : 'the code expired: the transfer was cancelled',
          outcome,
          { transfer: view(), attempts_left: 0, ...failureDetails(err) },
        );
      } finally {
        otp.verifying = false;
      }
    },
    {
      validator: ({ code }) => {
        if (typeof code !== 'string' || !/^[0-9]{6}$/.test(code)) {
          throw ApplicationFailure.nonRetryable('code must be exactly 6 digits', 'validation_failed');
        }
        if (
          status !== 'awaiting_confirmation' ||
          otp.challengeId === undefined ||
          otp.outcome !== undefined
        ) {
          throw ApplicationFailure.nonRetryable(
            'this transfer is not waiting for a code',
            'not_awaiting_confirmation',
          );
        }
        if (otp.verifying) {
          throw ApplicationFailure.nonRetryable(
            'a code is being checked already',
            'otp_verification_in_progress',
          );
        }
      },
    },
  );

  upsertMemo({ description: input.description, transfer_id: input.transfer_id });
  setStatus('pending');

  // --- the SAGA ---------------------------------------------------------------------------------
  const saga = new Saga();
  const reserveInput = {
    transfer_id: input.transfer_id,
    wallet_id: input.from_wallet_id,
    amount: input.amount,
    currency: input.currency,
    expires_at: '',
  };
  let holdId: string | undefined;
  let reserveRefused = false;

  try {
    await forward.run(async () => {
      const authorization = await runStep('authorize', () =>
        authorizeTransfer({
          transfer_id: input.transfer_id,
          from_wallet_id: input.from_wallet_id,
          to_wallet_id: input.to_wallet_id,
          amount: input.amount,
          currency: input.currency,
          user_id: input.initiated_by.user_id,
        }),
      );
      stepUpRequired = authorization.step_up_required;

      if (stepUpRequired) {
        await stepUp();
      } else {
        updateStep('step_up', { status: 'skipped' });
      }

      setStatus('processing');
      reserveInput.expires_at = new Date(Date.now() + HOLD_TTL_MS).toISOString();
      // Registered before the step: if reserve times out after the wallet placed the hold, the
      // release finds it again by the reserve step's idempotency key.
      saga.add('reserve', async () => {
        // A refusal (insufficient funds, frozen…) is the wallet's answer for that key: no hold
        // exists under it, so there is nothing to undo and the step stays `failed`.
        if (reserveRefused) return;
        await releaseFunds({ ...reserveInput, ...(holdId === undefined ? {} : { hold_id: holdId }) });
        updateStep('reserve', { status: 'compensated' });
      });
      try {
        holdId = (await runStep('reserve', () => reserveFunds(reserveInput))).hold_id;
      } catch (err) {
        reserveRefused = failureType(err) !== undefined && DIRECT_FAILURE_CODES.has(failureType(err)!);
        throw err;
      }
    });

    if (cancelledByUser) throw new TransferStopped('cancelled_by_user', 'cancelled');
    pastPivot = true;
    // The pivot: not cancellable. A domain refusal (destination frozen, hold expired) means
    // nothing moved, so the hold is released; an outage is retried until the wallet answers.
    await CancellationScope.nonCancellable(() =>
      runStep('capture', () =>
        captureFunds({ hold_id: holdId!, to_wallet_id: input.to_wallet_id, amount: input.amount }),
      ),
    );
  } catch (err) {
    const stop = toStop(err);
    failureCode = stop.code;
    // A step interrupted by a cancellation (e.g. the OTP wait) must not stay "running".
    for (const s of steps.values()) {
      if (s.status === 'running')
        updateStep(s.name as StepName, {
          status: 'failed',
          ended_ms: Date.now(),
          error_code: stop.code,
          error: stop.code,
        });
    }
    await compensate(saga);
    await finalize(stop.outcome, stop.code);
    return finish(stop.outcome);
  }

  await finalize('completed');
  return finish('completed');

  // --- steps and helpers ----------------------------------------------------------------------

  async function stepUp(): Promise<void> {
    updateStep('step_up', { status: 'running', started_ms: Date.now() });
    const challenge = await sendStepUpOtp({
      user_id: input.initiated_by.user_id,
      transfer_id: input.transfer_id,
    });
    otp.challengeId = challenge.challenge_id;
    setStatus('awaiting_confirmation');
    const timeout = input.otp_timeout_ms ?? DEFAULT_OTP_TIMEOUT_MS;
    const decided = await condition(() => otp.outcome !== undefined, timeout, {
      summary: 'step-up: OTP deadline',
    });
    // A code being checked when the timer fires still gets its answer.
    if (!decided && otp.verifying) await condition(() => !otp.verifying);
    const outcome = otp.outcome ?? 'otp_expired';
    if (outcome === 'confirmed') {
      updateStep('step_up', { status: 'completed', ended_ms: Date.now() });
      return;
    }
    otp.outcome = outcome;
    updateStep('step_up', {
      status: 'failed',
      attempts: Math.max(1, otp.tries),
      ended_ms: Date.now(),
      error_code: outcome,
      error: outcome === 'otp_failed' ? 'too many wrong codes' : 'no valid code in time',
    });
    throw new TransferStopped(outcome, 'cancelled');
  }

  /** Records the outcome and returns once every update handler has answered. */
  async function finish(outcome: 'completed' | 'failed' | 'cancelled'): Promise<Transfer> {
    completedAt = new Date().toISOString();
    setStatus(outcome);
    // Not cancellable: an operator's cancel after the outcome must not turn it into an error.
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    return view();
  }

  /** Maps whatever stopped the forward path to the transfer's outcome. */
  function toStop(err: unknown): TransferStopped {
    if (err instanceof TransferStopped) return err;
    if (isCancellation(err)) {
      return new TransferStopped(
        cancelledByUser ? 'cancelled_by_user' : 'cancelled_by_operator',
        'cancelled',
      );
    }
    const type = failureType(err);
    log.warn('transfer step failed', { transferId: input.transfer_id, type, error: failureMessage(err) });
    if (type !== undefined && DIRECT_FAILURE_CODES.has(type))
      return new TransferStopped(type as TransferFailureCode, 'failed');
    if (type === 'user_not_found') return new TransferStopped('not_authorized', 'failed');
    return new TransferStopped('internal_error', 'failed');
  }

  async function compensate(s: Saga): Promise<void> {
    if (s.size === 0) return;
    setStatus('compensating');
    await s.compensate({
      stuck: async (compensation, err) => {
        const reason = `undo of ${compensation.step} failed: ${failureMessage(err)}`;
        log.error('compensation failed; waiting for an operator', { transferId: input.transfer_id, reason });
        attentionReason = reason;
        updateStep(compensation.step as StepName, {
          status: 'compensation_failed',
          error_code: stepErrorCode(err),
          error: failureMessage(err),
        });
        retryRequested = false;
        setStatus('needs_attention');
        await condition(() => retryRequested);
        attentionReason = undefined;
        setStatus('compensating');
      },
    });
  }

  /** Finalize: auth log and audit trace. The outcome is already decided; a failure here is recorded, not undone. */
  async function finalize(
    outcome: 'completed' | 'failed' | 'cancelled',
    code?: TransferFailureCode,
  ): Promise<void> {
    updateStep('finalize', { status: 'running', started_ms: Date.now() });
    const audit = [...steps.values()]
      .filter((s) => s.name !== 'finalize' && s.status !== 'pending')
      .map((s) => ({
        transfer_id: input.transfer_id,
        step: s.name,
        status: s.status,
        attempt: s.attempts,
        duration_ms: s.started_ms !== undefined && s.ended_ms !== undefined ? s.ended_ms - s.started_ms : 0,
        ...(s.error === undefined ? {} : { error: s.error }),
      }));
    try {
      await CancellationScope.nonCancellable(() =>
        runStep('finalize', () =>
          finalizeTransfer({
            transfer_id: input.transfer_id,
            initiated_by: input.initiated_by,
            step_up: stepUpRequired,
            audit,
            outcome,
            ...(code === undefined ? {} : { failure_code: code }),
          }),
        ),
      );
    } catch (err) {
      log.error('finalize failed; the transfer outcome stands', {
        transferId: input.transfer_id,
        error: failureMessage(err),
      });
    }
  }
}
