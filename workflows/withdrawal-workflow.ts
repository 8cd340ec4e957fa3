/**
 * withdrawalWorkflow — money leaves Velora for a bank account through the payout provider.
 *
 *   reserve (undo: release) → [step_up] → submit to the provider → wait for its result
 *     settled  → capture into payouts:<ccy> (the pivot) → completed
 *     rejected → release → failed `payout_rejected`
 *     no result in time → release → failed `payout_timeout`, then watch for a late result
 *       late settled → needs_attention with the provider's evidence (the money left the rail
 *       after the funds were given back: an operator settles it, docs/runbook.md)
 *
 * The provider is asked once per withdrawal: the submit carries the withdrawal id as its
 * reference (the provider's idempotency key) and the activity's own `<workflowId>:submit` key,
 * so a retried submit never pays out twice. The result arrives as the `payoutResult` signal
 * from the gateway's webhook route; a repeated event changes nothing.
 */
import { ApplicationFailure, type SearchAttributePair } from '@temporalio/common';
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import {
  captureActivityOptions,
  captureRoundActivityOptions,
  otpActivityOptions,
  payoutSubmitActivityOptions,
  releaseActivityOptions,
  reserveActivityOptions,
} from '../temporal-config/activity-options.js';
import { failureMessage, failureType } from './failures.js';
import { failureCodeOfRefusal } from './refusals.js';
import { Saga } from './saga.js';
import {
  DEFAULT_ATTENTION_RETRY_MS,
  DEFAULT_OTP_TIMEOUT_MS,
  MAX_ATTENTION_RETRY_MS,
  MAX_OTP_TRIES,
} from './transfer-contract.js';
import { StepBook } from './transfer-state.js';
import {
  cancelWithdrawal,
  confirmWithdrawalOtp,
  DEFAULT_LATE_RESULT_WINDOW_MS,
  DEFAULT_PAYOUT_TIMEOUT_MS,
  getWithdrawal,
  LATE_PAYOUT_REASONS,
  latePayoutBookingId,
  payoutResult,
  resolveWithdrawal,
  retryWithdrawal,
  settleLatePayout,
  WAIT_FOR_WITHDRAWAL_STATUSES,
  waitForWithdrawal,
  withdrawalSearchAttributes,
  WITHDRAWAL_TERMINAL_STATUSES,
  type PayoutResult,
  type Withdrawal,
  type WithdrawalAttention,
  type WithdrawalFailureCode,
  type WithdrawalInput,
  type WithdrawalStatus,
} from './withdrawal-contract.js';

type Activities = ReturnType<typeof activities.createActivities>;

/**
 * A withdrawal parked on a settled payout (another amount, a hold no longer capturable, a late
 * settlement) waits for the operator's decision and nothing else: a `retryWithdrawal` does not
 * end that wait, the decision releases a hold the settlement did not capture, the decision is its
 * final status (never `completed` over a `failed`), and a `resolveWithdrawal` sent while
 * `settleLatePayout` books the payout is ignored (the booking decides). Found by the fault fuzzer
 * (docs/reliability.md, "Findings"); the changed commands are on those branches only.
 */
export const PARKED_SETTLEMENT_PATCH = '2026-12-02-withdrawal-parked-settlement';

const { reserveWithdrawal } = proxyLocalActivities<Activities>({
  ...reserveActivityOptions,
  summary: 'reserve: verify the input, user status and limits, hold the funds (one wallet call)',
});
const { sendStepUpOtp, verifyStepUpOtp } = proxyActivities<Activities>({
  ...otpActivityOptions,
  summary: 'step-up: send or verify the OTP',
});
const { submitPayout } = proxyActivities<Activities>({
  ...payoutSubmitActivityOptions,
  summary: 'submit: ask the payout provider to pay out (idempotent by reference)',
});
const { captureWithdrawal } = proxyLocalActivities<Activities>({
  ...captureRoundActivityOptions,
  summary: 'capture: debit the hold into payouts:<ccy>, record auth log and audit trace',
});
// An operator waits on the update that runs it: one minute of retries, then the update fails
// and the withdrawal stays parked (the operator tries again; the keys make it book once).
const { captureLatePayout } = proxyLocalActivities<Activities>({
  ...captureActivityOptions,
  scheduleToCloseTimeout: '1m',
  summary: 'late capture: debit the wallet for a payout settled after the release',
});
const { releaseWithdrawal } = proxyLocalActivities<Activities>({
  ...releaseActivityOptions,
  summary: 'release: free the hold, record auth log and audit trace',
});

const WITHDRAWAL_STEPS = ['reserve', 'step_up', 'submit', 'payout', 'capture'] as const;
type StepName = (typeof WITHDRAWAL_STEPS)[number];

/** The hold outlives the step-up wait, the submit's retries and the provider's answer. */
function withdrawalHoldTtlSeconds(input: WithdrawalInput): number {
  const waits =
    (input.otp_timeout_ms ?? DEFAULT_OTP_TIMEOUT_MS) + (input.payout_timeout_ms ?? DEFAULT_PAYOUT_TIMEOUT_MS);
  return Math.ceil(waits / 1000) + 3600;
}

class WithdrawalStopped extends Error {
  constructor(
    readonly code: WithdrawalFailureCode,
    readonly outcome: 'failed' | 'cancelled',
  ) {
    super(code);
  }
}

type Outcome = 'completed' | 'failed' | 'cancelled';

/** The `error_code` of a failed step: the domain code, else an outage. */
function withdrawalStepErrorCode(err: unknown): string {
  return failureType(err) ?? 'upstream_unavailable';
}

export async function withdrawalWorkflow(input: WithdrawalInput): Promise<Withdrawal> {
  const book = new StepBook(WITHDRAWAL_STEPS, withdrawalStepErrorCode, () => showDetails());
  const { steps } = book;
  let status: WithdrawalStatus = 'pending';
  let failureCode: WithdrawalFailureCode | undefined;
  let completedAt: string | undefined;
  let providerReference: string | undefined;
  let attention: WithdrawalAttention | undefined;
  let stepUpRequired = false;
  let retryRequested = false;
  /** Set by `cancelWithdrawal`; honoured at every point before the submit starts. */
  let cancelRequested = false;
  let resolution: { outcome: 'completed' | 'failed'; note: string } | undefined;
  /** Every distinct result the provider sent, first one first (repeats of an event id dropped). */
  const results: PayoutResult[] = [];
  const otp: { challengeId?: string; tries: number; wrong: number; verifying: boolean; outcome?: string } = {
    tries: 0,
    wrong: 0,
    verifying: false,
  };

  const view = (): Withdrawal => ({
    id: input.withdrawal_id,
    status,
    wallet_id: input.wallet_id,
    amount: input.amount,
    currency: input.currency,
    destination: {
      account_holder: input.destination.account_holder,
      iban_last4: input.destination.iban.slice(-4),
    },
    description: input.description,
    steps: [...steps.values()].map(({ name, status: s, attempts, error_code, error }) => ({
      name,
      status: s,
      attempts,
      ...(error_code === undefined ? {} : { error_code }),
      ...(error === undefined ? {} : { error }),
    })),
    ...(failureCode === undefined ? {} : { failure_code: failureCode }),
    ...(providerReference === undefined ? {} : { provider_reference: providerReference }),
    created_at: input.created_at,
    ...(completedAt === undefined ? {} : { completed_at: completedAt }),
    ...(attention === undefined ? {} : { attention }),
  });

  const showDetails = () => {
    const lines = [
      `**${status}** — ${input.amount} ${input.currency} from \`${input.wallet_id}\` to the payout rail`,
      ...[...steps.values()].map(
        (s) =>
          `- ${s.name}: ${s.status}${s.attempts > 1 ? ` (${s.attempts} attempts)` : ''}${s.error ? ` — ${s.error}` : ''}`,
      ),
    ];
    if (providerReference) lines.push(`provider payout: \`${providerReference}\``);
    if (failureCode) lines.push(`failure: \`${failureCode}\``);
    if (attention)
      lines.push(
        `needs attention (${attention.reason}): ${attention.detail} — see docs/runbook.md "Payouts stuck at the provider"`,
      );
    setCurrentDetails(lines.join('\n'));
  };
  const setStatus = (next: WithdrawalStatus) => {
    status = next;
    const pairs: SearchAttributePair[] = withdrawalSearchAttributes(
      input,
      next,
      WITHDRAWAL_TERMINAL_STATUSES.includes(next) || next === 'needs_attention' ? failureCode : undefined,
    );
    upsertSearchAttributes(pairs);
    showDetails();
  };

  /** The auth log and audit trace, a pure function of input and state (a retry sends the same body). */
  const records = (outcome: Outcome, code?: WithdrawalFailureCode): activities.TransferRecords => ({
    auth_log: {
      transfer_id: input.withdrawal_id,
      workflow_id: workflowInfo().workflowId,
      user_id: input.initiated_by.user_id,
      client_id: input.initiated_by.client_id,
      token_jti: input.initiated_by.token_jti,
      ip: input.initiated_by.ip,
      user_agent: input.initiated_by.user_agent,
      step_up: stepUpRequired,
      outcome,
      ...(code === undefined ? {} : { failure_code: code }),
    },
    audit: [...steps.values()]
      .filter((s) => s.status !== 'pending')
      .map((s) => ({
        step: `withdrawal:${s.name}`,
        status: s.status,
        attempt: s.attempts,
        duration_ms: s.started_ms !== undefined && s.ended_ms !== undefined ? s.ended_ms - s.started_ms : 0,
        ...(s.error === undefined ? {} : { error: s.error.slice(0, 1000) }),
      })),
  });

  /** The late booking's auth log and audit entry: its own booking id, so the release's records stay. */
  const latePayoutRecords = (note: string): activities.TransferRecords => {
    const base = records('completed');
    return {
      auth_log: { ...base.auth_log, transfer_id: latePayoutBookingId(input.withdrawal_id) },
      audit: [
        {
          step: 'withdrawal:late_capture',
          status: 'completed',
          attempt: 1,
          duration_ms: 0,
          // The entry has no field for a note; `error` carries it (the ticket the operator gave).
          error: `booked by an operator: ${note}`,
        },
      ],
    };
  };

  // --- messages -----------------------------------------------------------------------------
  let bookingLatePayout = false;
  setHandler(getWithdrawal, view);
  setHandler(waitForWithdrawal, async () => {
    await condition(() => WAIT_FOR_WITHDRAWAL_STATUSES.includes(status));
    return view();
  });
  setHandler(payoutResult, (result) => {
    if (results.some((r) => r.event_id === result.event_id)) return;
    results.push(result);
    log.info('payout result received', {
      withdrawalId: input.withdrawal_id,
      eventId: result.event_id,
      status: result.status,
    });
  });
  setHandler(retryWithdrawal, () => {
    if (status === 'needs_attention') retryRequested = true;
  });
  setHandler(resolveWithdrawal, (r) => {
    if (status !== 'needs_attention') return;
    if (bookingLatePayout && patched(PARKED_SETTLEMENT_PATCH)) {
      log.warn('resolveWithdrawal ignored: the late payout is being booked', {
        withdrawalId: input.withdrawal_id,
        ...r,
      });
      return;
    }
    resolution = r;
  });
  setHandler(
    cancelWithdrawal,
    async () => {
      if (failureCode === undefined) cancelRequested = true;
      await condition(() => WITHDRAWAL_TERMINAL_STATUSES.includes(status) || status === 'needs_attention');
      return view();
    },
    {
      validator: () => {
        // From the submit on, the provider may pay out whatever Velora says: its result decides.
        // A withdrawal that already failed or was cancelled is answered as it is (the handler).
        const ended = status === 'failed' || status === 'cancelled';
        if (status === 'completed' || (book.step('submit').status !== 'pending' && !ended))
          throw ApplicationFailure.nonRetryable(
            'the withdrawal was submitted to the payout provider; it can no longer be cancelled',
            'cannot_cancel',
          );
      },
    },
  );
  setHandler(
    settleLatePayout,
    async ({ note }) => {
      const evidence = attention!.evidence!;
      bookingLatePayout = true;
      try {
        await book.run('capture', () =>
          captureLatePayout({
            withdrawal: input,
            provider_reference: evidence.provider_payout_id,
            records: latePayoutRecords(note),
          }),
        );
      } catch (err) {
        throw ApplicationFailure.nonRetryable(
          `the late payout was not booked: ${failureMessage(err)}`,
          failureType(err) ?? 'upstream_unavailable',
        );
      } finally {
        bookingLatePayout = false;
      }
      log.warn('late payout booked by an operator', { withdrawalId: input.withdrawal_id, note });
      resolution = { outcome: 'completed', note };
      await condition(() => status !== 'needs_attention');
      return view();
    },
    {
      validator: ({ note }) => {
        if (typeof note !== 'string' || note.trim().length === 0 || note.length > 500)
          throw ApplicationFailure.nonRetryable(
            'note: 1 to 500 characters (the ticket)',
            'validation_failed',
          );
        const evidence = attention?.evidence;
        if (
          status !== 'needs_attention' ||
          resolution !== undefined ||
          !attention ||
          !LATE_PAYOUT_REASONS.includes(attention.reason) ||
          !evidence
        )
          throw ApplicationFailure.nonRetryable(
            'this withdrawal does not wait for a late payout to be booked',
            'not_awaiting_late_payout',
          );
        if (evidence.amount !== input.amount || evidence.currency !== input.currency)
          throw ApplicationFailure.nonRetryable(
            `the provider paid ${evidence.amount} ${evidence.currency}, not the withdrawal's amount: book it by hand`,
            'settlement_mismatch',
          );
        if (bookingLatePayout)
          throw ApplicationFailure.nonRetryable(
            'the late payout is being booked already',
            'booking_in_progress',
          );
      },
    },
  );
  setHandler(
    confirmWithdrawalOtp,
    async ({ code }) => {
      otp.verifying = true;
      const tryNumber = ++otp.tries;
      try {
        await verifyStepUpOtp({
          challenge_id: otp.challengeId!,
          user_id: input.initiated_by.user_id,
          code,
          try_number: tryNumber,
        });
        book.update('step_up', { attempts: tryNumber, error: undefined, error_code: undefined });
        otp.outcome = 'confirmed';
        await condition(() => status !== 'awaiting_confirmation');
        return view();
      } catch (err) {
        const type = failureType(err);
        book.update('step_up', {
          attempts: tryNumber,
          error_code: type ?? 'upstream_unavailable',
          error: failureMessage(err),
        });
        if (type === 'otp_invalid' && MAX_OTP_TRIES - ++otp.wrong > 0) {
          throw ApplicationFailure.nonRetryable('wrong code', 'otp_invalid', {
            attempts_left: MAX_OTP_TRIES - otp.wrong,
          });
        }
        if (type === 'otp_invalid' || type === 'otp_exhausted') otp.outcome = 'otp_failed';
        else if (type === 'otp_expired') otp.outcome = 'otp_expired';
        else
          throw ApplicationFailure.nonRetryable(
            'the code could not be checked right now; try again',
            'upstream_unavailable',
          );
        const outcome = otp.outcome;
        await condition(() => failureCode !== undefined);
        throw ApplicationFailure.nonRetryable(`the withdrawal was cancelled: ${outcome}`, outcome, {
          withdrawal: view(),
        });
      } finally {
        otp.verifying = false;
      }
    },
    {
      validator: ({ code }) => {
        if (typeof code !== 'string' || !/^[0-9]{6}$/.test(code))
          throw ApplicationFailure.nonRetryable('code must be exactly 6 digits', 'validation_failed');
        if (status !== 'awaiting_confirmation' || otp.challengeId === undefined || otp.outcome !== undefined)
          throw ApplicationFailure.nonRetryable(
            'this withdrawal is not waiting for a code',
            'not_awaiting_confirmation',
          );
        if (otp.verifying)
          throw ApplicationFailure.nonRetryable(
            'a code is being checked already',
            'otp_verification_in_progress',
          );
      },
    },
  );
  showDetails();

  // --- the saga -------------------------------------------------------------------------------
  const saga = new Saga();
  let releaseRecords: activities.TransferRecords | undefined;
  let settlement: PayoutResult | undefined;
  try {
    saga.add('reserve', async () => {
      const { released } = await releaseWithdrawal({
        withdrawal_id: input.withdrawal_id,
        records: releaseRecords!,
      });
      if (released) book.update('reserve', { status: 'compensated' });
    });
    const reserved = await book.run('reserve', () =>
      reserveWithdrawal({ withdrawal: input, hold_ttl_seconds: withdrawalHoldTtlSeconds(input) }),
    );
    stepUpRequired = reserved.step_up_required;
    if (cancelRequested) throw new WithdrawalStopped('cancelled_by_user', 'cancelled');
    if (stepUpRequired) await stepUp();
    else book.update('step_up', { status: 'skipped' });

    setStatus('processing');
    // The last moment a cancel is honoured: the submit step starts in the same activation.
    if (cancelRequested) throw new WithdrawalStopped('cancelled_by_user', 'cancelled');
    try {
      const submitted = await book.run('submit', () =>
        submitPayout({
          reference: input.withdrawal_id,
          amount: input.amount,
          currency: input.currency,
          destination: input.destination,
        }),
      );
      providerReference = submitted.provider_payout_id;
    } catch (err) {
      const type = failureType(err);
      if (type !== undefined && type !== 'upstream_unavailable')
        throw new WithdrawalStopped('payout_rejected', 'failed');
      // No answer for the whole submit budget: the provider may still have it. Its result (or
      // the timeout below) decides, exactly as for a payout it acknowledged.
      log.warn('payout submit unanswered; waiting for a result anyway', {
        withdrawalId: input.withdrawal_id,
      });
    }
    setStatus('submitted');
    book.update('payout', { status: 'running', started_ms: Date.now() });
    const answered = await condition(
      () => results.length > 0,
      input.payout_timeout_ms ?? DEFAULT_PAYOUT_TIMEOUT_MS,
      {
        summary: 'payout: provider result deadline',
      },
    );
    const first = results[0];
    if (!answered || !first) {
      book.update('payout', {
        status: 'failed',
        ended_ms: Date.now(),
        error_code: 'payout_timeout',
        error: 'no result from the provider in time',
      });
      throw new WithdrawalStopped('payout_timeout', 'failed');
    }
    providerReference ??= first.provider_payout_id;
    if (first.status === 'rejected') {
      book.update('payout', {
        status: 'failed',
        ended_ms: Date.now(),
        error_code: 'payout_rejected',
        error: `rejected by the provider: ${first.reason ?? 'no reason given'}`,
      });
      throw new WithdrawalStopped('payout_rejected', 'failed');
    }
    book.update('payout', { status: 'completed', attempts: 1, ended_ms: Date.now() });
    settlement = first;
  } catch (err) {
    const stop = err instanceof WithdrawalStopped ? err : toStop(err);
    failureCode = stop.code;
    book.failRunning(stop.code);
    releaseRecords = records(stop.outcome, stop.code);
    await compensate();
    completedAt = new Date().toISOString();
    setStatus(stop.outcome);
    // A provider that answered nothing (or only after the deadline) may still pay out: watch.
    if (stop.code === 'payout_timeout') return watchForLateSettlement();
    return finish();
  }

  // The pivot: the provider paid out, so the books must follow.
  const captured = await CancellationScope.nonCancellable(() => captureSettled(settlement));
  // Not captured: an operator's decision ended the wait, and it is the final status.
  if (!captured && patched(PARKED_SETTLEMENT_PATCH)) return finish();
  completedAt = new Date().toISOString();
  setStatus('completed');
  return finish();

  // --- steps ----------------------------------------------------------------------------------

  async function stepUp(): Promise<void> {
    book.update('step_up', { status: 'running', started_ms: Date.now() });
    const challenge = await sendStepUpOtp({
      user_id: input.initiated_by.user_id,
      transfer_id: input.withdrawal_id,
    });
    otp.challengeId = challenge.challenge_id;
    setStatus('awaiting_confirmation');
    const configured = input.otp_timeout_ms ?? DEFAULT_OTP_TIMEOUT_MS;
    const left = Date.parse(challenge.expires_at) - Date.now();
    const wait = Number.isNaN(left) ? configured : Math.max(1, Math.min(configured, left));
    await condition(() => otp.outcome !== undefined || cancelRequested, wait, {
      summary: 'step-up: OTP deadline',
    });
    // A code being checked at the deadline or the cancel still gets its answer first.
    // (Its handler keeps `verifying` until the outcome is acted on: an outcome ends the wait too.)
    if (otp.outcome === undefined && otp.verifying)
      await condition(() => !otp.verifying || otp.outcome !== undefined);
    if (otp.outcome === undefined && cancelRequested) {
      book.update('step_up', {
        status: 'failed',
        attempts: Math.max(1, otp.tries),
        ended_ms: Date.now(),
        error_code: 'cancelled_by_user',
        error: 'cancelled_by_user',
      });
      throw new WithdrawalStopped('cancelled_by_user', 'cancelled');
    }
    const outcome = otp.outcome ?? 'otp_expired';
    if (outcome === 'confirmed') {
      book.update('step_up', { status: 'completed', ended_ms: Date.now() });
      return;
    }
    otp.outcome = outcome;
    book.update('step_up', {
      status: 'failed',
      attempts: Math.max(1, otp.tries),
      ended_ms: Date.now(),
      error_code: outcome,
      error: outcome,
    });
    throw new WithdrawalStopped(outcome === 'otp_failed' ? 'otp_failed' : 'otp_expired', 'cancelled');
  }

  /**
   * Captures the settled payout into payouts:<ccy>. A result that does not match the withdrawal
   * (amount, currency) or a hold that can no longer be captured parks the withdrawal in
   * `needs_attention` with the evidence; an unanswered capture retries in rounds from there.
   * True once captured; false when an operator's decision ended the wait instead.
   */
  async function captureSettled(result: PayoutResult): Promise<boolean> {
    if (result.amount !== input.amount || result.currency !== input.currency) {
      await park(
        {
          reason: 'settlement_mismatch',
          detail: `the provider paid ${result.amount} ${result.currency}`,
          evidence: result,
        },
        false,
        releaseUncapturedHold,
      );
      return false;
    }
    setStatus('processing');
    for (;;) {
      try {
        await book.run('capture', () =>
          captureWithdrawal({
            withdrawal_id: input.withdrawal_id,
            provider_reference: result.provider_payout_id,
            records: records('completed'),
          }),
        );
        return true;
      } catch (err) {
        const type = failureType(err);
        if (type !== undefined && type !== 'upstream_unavailable') {
          await park(
            {
              reason: 'settled_hold_not_capturable',
              detail: `the provider paid out but the capture was refused: ${type}`,
              evidence: result,
            },
            false,
            releaseUncapturedHold,
          );
          return false;
        }
        // Resolved here, the capture's outcome is unknown: the hold is left to the operator.
        if (await park({ reason: 'capture_unanswered', detail: failureMessage(err), evidence: result }, true))
          continue;
        return false;
      }
    }
  }

  /**
   * `needs_attention` until an operator resolves it (`resolveWithdrawal`) — or, when `retries`,
   * until `retryWithdrawal` or the backoff. Returns true to retry; false once resolved, after
   * `beforeClose` (what the decision still has to do before it becomes the final status).
   */
  async function park(
    why: WithdrawalAttention,
    retries = false,
    beforeClose?: () => Promise<void>,
  ): Promise<boolean> {
    attention = why;
    retryRequested = false;
    setStatus('needs_attention');
    log.error('withdrawal needs attention', {
      withdrawalId: input.withdrawal_id,
      reason: why.reason,
      detail: why.detail,
    });
    const backoff = Math.min(DEFAULT_ATTENTION_RETRY_MS, MAX_ATTENTION_RETRY_MS);
    const woken = () => retryRequested || resolution !== undefined;
    for (;;) {
      if (retries) await condition(woken, backoff, { summary: 'needs_attention: automatic retry' });
      else await condition(woken);
      // Only a decision ends a wait that cannot be retried.
      if (retries || resolution !== undefined || !patched(PARKED_SETTLEMENT_PATCH)) break;
      retryRequested = false;
    }
    if (resolution !== undefined) {
      log.warn('withdrawal resolved by an operator', { withdrawalId: input.withdrawal_id, ...resolution });
      failureCode = resolution.outcome === 'failed' ? (failureCode ?? 'internal_error') : undefined;
      // Resolved: nothing waits for an operator any more (the evidence stays in the history and log).
      attention = undefined;
      const outcome = resolution.outcome;
      if (beforeClose && patched(PARKED_SETTLEMENT_PATCH)) await beforeClose();
      completedAt = new Date().toISOString();
      setStatus(outcome);
      return false;
    }
    attention = undefined;
    return true;
  }

  /**
   * The settled payout was not captured and the operator decided: the hold (if any is left)
   * must not pin the user's funds until it expires. The release is the reserve's own undo.
   */
  async function releaseUncapturedHold(): Promise<void> {
    releaseRecords = records(resolution!.outcome, failureCode);
    await compensate();
  }

  /**
   * After a release for `payout_timeout`, a `settled` result can still come: the
   * money then left the rail although the wallet got its funds back. Watch for it for a bounded
   * window; if it comes, park with the evidence. Repeats of a known event change nothing.
   */
  async function watchForLateSettlement(): Promise<Withdrawal> {
    const late = () => results.find((r) => r.status === 'settled');
    await condition(
      () => late() !== undefined,
      input.late_result_window_ms ?? DEFAULT_LATE_RESULT_WINDOW_MS,
      {
        summary: 'payout: watch for a late settlement',
      },
    );
    const evidence = late();
    if (evidence) {
      providerReference ??= evidence.provider_payout_id;
      await park({
        reason: 'late_settlement',
        detail: `the provider settled payout ${evidence.provider_payout_id} at ${evidence.occurred_at}, after the funds were released`,
        evidence,
      });
    }
    return finish();
  }

  async function compensate(): Promise<void> {
    setStatus('compensating');
    await saga.compensate({
      stuck: async (compensation, err) => {
        book.update(compensation.step as StepName, {
          status: 'compensation_failed',
          error_code: withdrawalStepErrorCode(err),
          error: failureMessage(err),
        });
        attention = {
          reason: 'release_unanswered',
          detail: `undo of ${compensation.step} failed: ${failureMessage(err)}`,
        };
        retryRequested = false;
        setStatus('needs_attention');
        await condition(() => retryRequested, DEFAULT_ATTENTION_RETRY_MS);
        attention = undefined;
        setStatus('compensating');
      },
    });
  }

  async function finish(): Promise<Withdrawal> {
    await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
    return view();
  }

  function toStop(err: unknown): WithdrawalStopped {
    const type = failureType(err);
    log.warn('withdrawal step failed', {
      withdrawalId: input.withdrawal_id,
      type,
      error: failureMessage(err),
    });
    // The provider's refusal is the withdrawal's own; every other refusal ends it like a transfer.
    const code =
      type === 'payout_rejected' ? 'payout_rejected' : (failureCodeOfRefusal(type) ?? 'internal_error');
    return new WithdrawalStopped(code, 'failed');
  }
}
