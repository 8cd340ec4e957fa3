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
 */
import { ApplicationFailure, type LocalActivityOptions } from '@temporalio/common';
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import {
  captureRoundActivityOptions,
  ledgerCheckActivityOptions,
  otpActivityOptions,
  releaseActivityOptions,
  reserveActivityOptions,
  type NonRetryableErrorType,
} from '../temporal-config/activity-options.js';
import { failureAttempt, failureDetails, failureMessage, failureType } from './failures.js';
import { Saga } from './saga.js';
import {
  cancelTransfer,
  confirmOtp,
  DEFAULT_ATTENTION_RETRY_MS,
  DEFAULT_OTP_TIMEOUT_MS,
  getTransfer,
  MAX_ATTENTION_RETRY_MS,
  MAX_OTP_TRIES,
  resolveAsCompleted,
  retryCompensation,
  TERMINAL_STATUSES,
  transferStatusAttributes,
  WAIT_FOR_TRANSFER_STATUSES,
  waitForTransfer,
  type Transfer,
  type TransferFailureCode,
  type TransferInput,
  type TransferStatus,
  type TransferStep,
} from './transfer-contract.js';

type Activities = ReturnType<typeof activities.createActivities>;

// One proxy per step: its own timeouts and retry policy, and a summary the Web UI shows. The
// money steps are local activities (one workflow task per transfer); the OTP steps run while
// the user waits anyway and stay regular (docs/orchestrator.md, "Regular or local activity").
const { reserveTransfer } = proxyLocalActivities<Activities>({
  ...reserveActivityOptions,
  summary:
    'reserve: verify the input, user status and limits, hold the funds, capture them when no step-up is needed (one wallet call)',
});
const { sendStepUpOtp } = proxyActivities<Activities>({
  ...otpActivityOptions,
  summary: 'step-up: send the OTP',
});
const { verifyStepUpOtp } = proxyActivities<Activities>({
  ...otpActivityOptions,
  summary: 'step-up: verify the OTP',
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
const { checkTransferCaptured } = proxyActivities<Activities>({
  ...ledgerCheckActivityOptions,
  summary: 'resolve: read the transfer’s capture from the wallet’s journal',
});

/*
 * Changes to the commands of this released workflow go behind `patched('<yyyy-mm-dd>-<what>')`
 * (docs/orchestrator.md, "Versioning rule"). No patch is open. The five of 2026-12-01 went
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
export function holdTtlSeconds(input: TransferInput): number {
  const otpSeconds = Math.ceil((input.otp_timeout_ms ?? DEFAULT_OTP_TIMEOUT_MS) / 1000);
  return Math.max(3600, otpSeconds + 900);
}

/** Step names in the order they run; the `Transfer.steps` view lists all of them. */
export const TRANSFER_STEPS = ['reserve', 'step_up', 'capture'] as const;
type StepName = (typeof TRANSFER_STEPS)[number];

/**
 * The failure code each domain refusal ends a transfer with. A Record over the non-retryable
 * types, so a code added there needs its answer here; any other failure (an outage, a code not
 * listed) is `internal_error`.
 */
const FAILURE_CODE_OF_REFUSAL: Readonly<Record<NonRetryableErrorType, TransferFailureCode>> = {
  insufficient_funds: 'insufficient_funds',
  wallet_frozen: 'wallet_frozen',
  wallet_not_found: 'wallet_not_found',
  currency_mismatch: 'currency_mismatch',
  limit_exceeded: 'limit_exceeded',
  not_authorized: 'not_authorized',
  // The same to the user as a code above.
  user_not_found: 'not_authorized',
  wallet_closed: 'wallet_closed',
  // Never the forward path's answer (OTP updates, other workflows), or a bug: nothing to tell.
  registration_not_found: 'internal_error',
  otp_invalid: 'internal_error',
  otp_expired: 'internal_error',
  otp_exhausted: 'internal_error',
  otp_cooldown: 'internal_error',
  hold_not_found: 'internal_error',
  hold_not_active: 'internal_error',
  hold_already_captured: 'internal_error',
  transfer_released: 'transfer_released',
  transfer_already_reserved: 'transfer_already_reserved',
  capture_exceeds_hold: 'internal_error',
  invalid_expiry: 'internal_error',
  reversal_not_possible: 'internal_error',
  validation_failed: 'internal_error',
  idempotency_key_mismatch: 'internal_error',
  cannot_cancel: 'internal_error',
};

/** Audit entries keep the operator's reason, bounded like the wallet's schema wants. */
const MAX_AUDIT_ERROR_CHARS = 1000;

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

/** The stable code of a step's failure: the domain code, or what kind of outage it was. */
function stepErrorCode(err: unknown): string {
  const type = failureType(err);
  if (type !== undefined) return type;
  if (isCancellation(err)) return 'cancelled';
  return failureMessage(err).startsWith('timed out') ? 'upstream_unavailable' : 'internal_error';
}

interface StepRecord extends TransferStep {
  started_ms?: number;
  ended_ms?: number;
}

type Outcome = 'completed' | 'failed' | 'cancelled';
type Records = activities.TransferRecords;

export async function transferWorkflow(input: TransferInput): Promise<Transfer> {
  const { captureTransferRound, releaseTransfer } = walletRoundActivities(input);
  const steps = new Map<StepName, StepRecord>(
    TRANSFER_STEPS.map((name) => [name, { name, status: 'pending', attempts: 0 }]),
  );
  // The start options set the search attributes (status `pending`) and the memo: nothing to upsert yet.
  let status: TransferStatus = 'pending';
  let failureCode: TransferFailureCode | undefined;
  let completedAt: string | undefined;
  let attentionReason: string | undefined;
  /** Set once capture is scheduled: from then on the transfer can no longer be cancelled. */
  let pastPivot = false;
  let cancelledByUser = false;
  let retryRequested = false;
  let stepUpRequired = false;
  /** Automatic retries of what `needs_attention` waits on, so far (the backoff doubles each time). */
  let attentionRounds = 0;
  /** Set by `resolveAsCompleted` once the journal shows the capture. */
  let resolution: { transaction_id: string } | undefined;
  let resolving = false;
  /** Set when the reserve captured in the same wallet call (no step-up needed). */
  let capturedAtReserve = false;

  const otp: {
    challengeId?: string;
    tries: number;
    wrong: number;
    verifying: boolean;
    outcome?: 'confirmed' | 'otp_failed' | 'otp_expired';
    /** The code that confirmed: sent again (a client's retry), it answers the same success. */
    confirmedCode?: string;
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
  /**
   * What an update answer waits for: the outcome known (failure code set, the release may still
   * be running) or settled, not the release finished.
   */
  const decided = () => failureCode !== undefined || settled();

  /**
   * Every status change is visible: ONE search-attribute upsert of the status (with the failure
   * code when the status is terminal; the other attributes were set at start and never change),
   * the current details, the query. The upsert's contents are not compared on replay, only that
   * it is one (sdk-core's UpsertSearchAttributesMachine), so what it carries may change unpatched.
   */
  const setStatus = (next: TransferStatus) => {
    status = next;
    upsertSearchAttributes(
      transferStatusAttributes(next, TERMINAL_STATUSES.includes(next) ? failureCode : undefined),
    );
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
      lines.push(
        `needs attention: ${attentionReason} — signal \`retryCompensation\` after fixing` +
          (attentionReason.includes('hold_already_captured') ? ', or update `resolveAsCompleted`' : ''),
      );
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

  /**
   * The auth log and audit trace of the transfer as it stands (or, for the one-call reserve, as
   * it will stand: `stepList` and `stepUp` given): a pure function of the input and the workflow's
   * state, so a retried capture or release sends the very same body.
   */
  const records = (
    outcome: Outcome,
    code?: TransferFailureCode,
    stepList: readonly StepRecord[] = [...steps.values()],
    stepUp = stepUpRequired,
  ): Records => ({
    auth_log: {
      transfer_id: input.transfer_id,
      workflow_id: workflowInfo().workflowId,
      user_id: input.initiated_by.user_id,
      client_id: input.initiated_by.client_id,
      token_jti: input.initiated_by.token_jti,
      ip: input.initiated_by.ip,
      user_agent: input.initiated_by.user_agent,
      step_up: stepUp,
      outcome,
      ...(code === undefined ? {} : { failure_code: code }),
    },
    audit: stepList
      .filter((s) => s.status !== 'pending')
      .map((s) => ({
        step: s.name,
        status: s.status,
        attempt: s.attempts,
        duration_ms: s.started_ms !== undefined && s.ended_ms !== undefined ? s.ended_ms - s.started_ms : 0,
        ...(s.error === undefined ? {} : { error: s.error.slice(0, MAX_AUDIT_ERROR_CHARS) }),
      })),
  });

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
      await condition(decided);
      return view();
    },
    {
      validator: () => {
        // Once capture is scheduled the transfer completes (also through needs_attention); a
        // transfer already failing after a refused capture is answered with its view by the
        // handler (nothing left to cancel).
        if (status === 'completed' || (pastPivot && failureCode === undefined)) {
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
      // The code that confirmed, sent again (a client that lost the answer): the same success.
      // No command: the validator let it through only in this case.
      if (otp.outcome === 'confirmed' && code === otp.confirmedCode) return view();
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
        otp.confirmedCode = code;
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
            { reason: failureMessage(err) },
          );
        }
        const outcome = otp.outcome;
        await condition(decided);
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
        if (otp.outcome === 'confirmed' && code === otp.confirmedCode) return;
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

  setHandler(
    resolveAsCompleted,
    async () => {
      resolving = true;
      try {
        const check = await checkTransferCaptured({
          transfer_id: input.transfer_id,
          to_wallet_id: input.to_wallet_id,
          amount: input.amount,
        });
        if (!check.captured || check.transaction_id === undefined) {
          throw ApplicationFailure.nonRetryable(
            'the wallet’s journal shows no capture of this transfer: fix the cause, then retryCompensation',
            'not_captured',
          );
        }
        log.warn('resolved as completed by an operator', {
          transferId: input.transfer_id,
          transactionId: check.transaction_id,
        });
        resolution = { transaction_id: check.transaction_id };
        await condition(() => status === 'completed');
        return view();
      } finally {
        resolving = false;
      }
    },
    {
      validator: () => {
        const waitsOnCapturedHold = [...steps.values()].some(
          (s) => s.status === 'compensation_failed' && s.error_code === 'hold_already_captured',
        );
        if (status !== 'needs_attention' || !waitsOnCapturedHold || resolving) {
          throw ApplicationFailure.nonRetryable(
            'only a transfer waiting in needs_attention on a captured hold (hold_already_captured) can be resolved as completed',
            'not_resolvable',
          );
        }
      },
    },
  );

  showDetails();

  // --- the SAGA ---------------------------------------------------------------------------------
  const saga = new Saga();
  /** Built once when the forward path stops, so every retry of the release sends the same body. */
  let releaseRecords: Records | undefined;
  let holdId: string | undefined;
  /** The reserve step as the forward path left it (restored when nothing had to be released). */
  let reserveOutcome: Pick<StepRecord, 'status' | 'error_code' | 'error'> = { status: 'pending' };

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
          updateStep('reserve', { status: 'compensated', error_code: undefined, error: undefined });
        } else if (steps.get('reserve')!.status === 'compensation_failed') {
          // A refused reserve placed nothing: after an operator's retry it shows its refusal again.
          updateStep('reserve', { ...reserveOutcome });
        }
      });
      // The reserve captures at once when no step-up is needed, with the records the capture
      // would write after a completed reserve and a skipped step-up. What decides the commands
      // is its answer, never this request: a run recorded before the one-call reserve replays its
      // old answer (no `captured`) and goes on to the capture as it did.
      const capture = { capture: { records: capturedAtReserveRecords() } };
      // Not cancellable: a cancel during the wallet call waits for its answer, so the release
      // that follows always sees the hold the call placed (or the transfer completes, when the
      // call captured: past the pivot, as after a capture).
      const reserved = await CancellationScope.nonCancellable(() =>
        runStep('reserve', () =>
          reserveTransfer({ transfer: input, hold_ttl_seconds: holdTtlSeconds(input), ...capture }),
        ),
      );
      holdId = reserved.hold_id;
      stepUpRequired = reserved.step_up_required;
      if (reserved.captured === true) {
        pastPivot = true;
        capturedAtReserve = true;
        const reserveStep = steps.get('reserve')!;
        updateStep('step_up', { status: 'skipped' });
        updateStep('capture', {
          status: 'completed',
          attempts: reserved.attempt,
          started_ms: reserveStep.started_ms,
          ended_ms: reserveStep.ended_ms,
        });
        return;
      }
      if (forward.consideredCancelled) throw cancelled();

      // The hold is in place while the user finds the code, as a card payment's authorization is.
      if (stepUpRequired) {
        await stepUp();
      } else {
        updateStep('step_up', { status: 'skipped' });
      }
    });

    if (capturedAtReserve) {
      // The money moved with the reserve, in this workflow task: `processing` could never be
      // seen (it is what visibility shows while a capture round retries), so it is not upserted.
      return finish('completed');
    }
    if (cancelledByUser || forward.consideredCancelled) throw cancelled();
    // The pivot: not cancellable. A domain refusal (destination frozen, hold expired) means
    // nothing moved, so the hold is released; an outage is retried until the wallet answers.
    pastPivot = true;
    setStatus('processing');
    const captureInput = {
      hold_id: holdId!,
      to_wallet_id: input.to_wallet_id,
      amount: input.amount,
      records: records('completed'),
    };
    await CancellationScope.nonCancellable(() => captureInRounds(captureInput));
  } catch (err) {
    const stop = toStop(err);
    failureCode = stop.code;
    // A step interrupted by a cancellation (e.g. the OTP wait) must not stay "running".
    for (const s of steps.values()) {
      if (s.status === 'running') {
        updateStep(s.name as StepName, {
          status: 'failed',
          ended_ms: Date.now(),
          error_code: stop.code,
          error: stop.code,
        });
      }
    }
    releaseRecords = records(stop.outcome, stop.code);
    const { status: reserveStatus, error_code, error } = steps.get('reserve')!;
    reserveOutcome = { status: reserveStatus, error_code, error };
    try {
      await compensate(saga);
    } catch (resolved) {
      if (!(resolved instanceof ResolvedAsCompleted)) throw resolved;
      // The journal shows the capture: the money moved once; nothing was or will be undone.
      failureCode = undefined;
      attentionReason = undefined;
      updateStep('reserve', { status: 'completed', error_code: undefined, error: undefined });
      updateStep('capture', { status: 'completed', error_code: undefined, error: undefined });
      return finish('completed');
    }
    return finish(stop.outcome);
  }

  return finish('completed');

  // --- steps and helpers ----------------------------------------------------------------------

  /**
   * What a capture after this reserve would record: the reserve completed (its attempt and time
   * are filled in by the activity), the step-up skipped, no step-up in the auth log.
   */
  function capturedAtReserveRecords(): Records {
    const stepList: StepRecord[] = [
      { name: 'reserve', status: 'completed', attempts: 1 },
      { name: 'step_up', status: 'skipped', attempts: 0 },
    ];
    return records('completed', undefined, stepList, false);
  }

  function cancelled(): TransferStopped {
    return new TransferStopped(cancelledByUser ? 'cancelled_by_user' : 'cancelled_by_operator', 'cancelled');
  }

  async function stepUp(): Promise<void> {
    updateStep('step_up', { status: 'running', started_ms: Date.now() });
    const challenge = await sendStepUpOtp({
      user_id: input.initiated_by.user_id,
      transfer_id: input.transfer_id,
    });
    otp.challengeId = challenge.challenge_id;
    setStatus('awaiting_confirmation');
    const configured = input.otp_timeout_ms ?? DEFAULT_OTP_TIMEOUT_MS;
    const timeout = otpWaitMs(challenge.expires_at, configured);
    const answered = await condition(() => otp.outcome !== undefined, timeout, {
      summary: 'step-up: OTP deadline',
    });
    // A code being checked when the timer fires still gets its answer.
    if (!answered && otp.verifying) await condition(() => !otp.verifying);
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

  /**
   * The pivot in rounds: each round retries until WalletService answers or 10 minutes pass. A
   * refusal ends the forward path (nothing moved, the hold is released); a round that ran out
   * (an outage, or 401/403 from a refused token) puts the transfer in `needs_attention` until
   * the backoff or an operator's `retryCompensation`, then the same request is sent again.
   */
  async function captureInRounds(request: activities.CaptureInput): Promise<void> {
    for (;;) {
      try {
        await runStep('capture', () => captureTransferRound(request));
        return;
      } catch (err) {
        const type = failureType(err);
        if (type !== undefined && Object.hasOwn(FAILURE_CODE_OF_REFUSAL, type)) throw err;
        attentionReason = `capture got no answer from the wallet: ${failureMessage(err)}`;
        log.error('capture round ran out; waiting in needs_attention', {
          transferId: input.transfer_id,
          reason: attentionReason,
        });
        await waitForAttention(true);
        attentionReason = undefined;
        setStatus('processing');
      }
    }
  }

  /**
   * `needs_attention` until an operator signals `retryCompensation`, resolves the transfer, or
   * (when `retries`) the backoff passes: 15 min, doubling up to 4 h.
   */
  async function waitForAttention(retries: boolean): Promise<void> {
    retryRequested = false;
    setStatus('needs_attention');
    const woken = () => retryRequested || resolution !== undefined;
    if (retries) {
      const first = input.attention_retry_ms ?? DEFAULT_ATTENTION_RETRY_MS;
      const backoff = Math.min(first * 2 ** attentionRounds, MAX_ATTENTION_RETRY_MS);
      attentionRounds += 1;
      await condition(woken, backoff, { summary: 'needs_attention: automatic retry' });
    } else {
      await condition(woken);
    }
  }

  /** Records the outcome and returns once every update handler has answered. */
  async function finish(outcome: Outcome): Promise<Transfer> {
    completedAt = new Date().toISOString();
    setStatus(outcome);
    // Not cancellable: an operator's cancel after the outcome must not turn it into an error.
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    return view();
  }

  /** Maps whatever stopped the forward path to the transfer's outcome. */
  function toStop(err: unknown): TransferStopped {
    if (err instanceof TransferStopped) return err;
    if (isCancellation(err)) return cancelled();
    const type = failureType(err);
    log.warn('transfer step failed', { transferId: input.transfer_id, type, error: failureMessage(err) });
    const code =
      type !== undefined && Object.hasOwn(FAILURE_CODE_OF_REFUSAL, type)
        ? FAILURE_CODE_OF_REFUSAL[type as NonRetryableErrorType]
        : 'internal_error';
    return new TransferStopped(code, 'failed');
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
        // A captured hold is never released by a retry: the operator resolves it (the money moved).
        await waitForAttention(stepErrorCode(err) !== 'hold_already_captured');
        if (resolution !== undefined) throw new ResolvedAsCompleted(resolution.transaction_id);
        attentionReason = undefined;
        setStatus('compensating');
      },
    });
  }
}

/**
 * How long to wait for the step-up code: until the challenge expires (AuthService's own
 * `expires_at`), never longer than the configured wait, at least 1 ms (a timer of 0 waits
 * forever). Workflow time is deterministic, so a replay computes the same timer.
 */
function otpWaitMs(expiresAt: string, configuredMs: number): number {
  const left = Date.parse(expiresAt) - Date.now();
  if (Number.isNaN(left)) return configuredMs;
  return Math.max(1, Math.min(configuredMs, left));
}
