/**
 * Activity option presets of the orchestrator and the list of domain error types that must
 * never be retried. Workflows import these (nothing here does I/O), so every step's timeout and
 * retry policy is visible in one place.
 */
import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/common';
import { OtpError } from '../auth/otp/otp.errors.js';
import { UserError } from '../auth/users/users.errors.js';
import { HoldError } from '../wallet/holds/holds.errors.js';
import { IdempotencyError } from '../wallet/idempotency/idempotency.errors.js';
import { LedgerError } from '../wallet/ledger/ledger.errors.js';
import { TransferError } from '../wallet/transfers/transfers.errors.js';
import { WalletError } from '../wallet/wallets/wallets.errors.js';

/**
 * Business outcomes reported by AuthService and WalletService (problem+json `code`) and by the
 * orchestrator itself. An activity throws them as `ApplicationFailure.nonRetryable(msg, code)`;
 * listing them here as well means a retry can never happen even if an activity forgets the flag.
 * Each comes from the enum of the service that answers it, so a renamed code cannot drift.
 */
const NON_RETRYABLE = [
  // WalletService: its wallets, holds, ledger, transfers and idempotency keys.
  WalletError.InsufficientFunds,
  WalletError.WalletFrozen,
  WalletError.WalletNotFound,
  WalletError.CurrencyMismatch,
  WalletError.WalletClosed,
  TransferError.LimitExceeded,
  TransferError.NotAuthorized,
  // The reserve of a transfer id an earlier run released, or that holds funds under another key
  // (a reused id after the key's retention): answers, not outages.
  TransferError.TransferReleased,
  TransferError.TransferAlreadyReserved,
  HoldError.HoldNotFound,
  HoldError.HoldNotActive,
  HoldError.HoldAlreadyCaptured,
  HoldError.CaptureExceedsHold,
  LedgerError.ReversalNotPossible,
  IdempotencyError.KeyMismatch,
  // AuthService: its users and one-time codes.
  UserError.NotFound,
  UserError.RegistrationNotFound,
  OtpError.Invalid,
  OtpError.Expired,
  OtpError.Exhausted,
  OtpError.Cooldown,
  // Any service's refusal of a malformed request (lib/problem.ts).
  'validation_failed',
  // The transfer's own refusal of a cancel after the capture (TRANSFER_UPDATE_ERRORS).
  'cannot_cancel',
] as const;

export type NonRetryableErrorType = `${(typeof NON_RETRYABLE)[number]}`;

export const NON_RETRYABLE_ERROR_TYPES: readonly NonRetryableErrorType[] = NON_RETRYABLE;

/** Exponential backoff for infrastructure failures (5xx, timeouts, refused connections). */
function backoff(maximumInterval: string, maximumAttempts?: number): RetryPolicy {
  return {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval,
    ...(maximumAttempts === undefined ? {} : { maximumAttempts }),
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  };
}

/** OTP send/verify: the user is waiting on the other end of an update. */
export const otpActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '30s',
  retry: backoff('5s'),
};

/*
 * The transfer's money steps run as LOCAL activities (docs/orchestrator.md, "Regular or local
 * activity"): in the worker that runs the workflow task, recorded as one marker each, so a
 * transfer without step-up is ONE workflow task instead of three. Retries within
 * `localRetryThreshold` happen in the worker; longer backoffs become workflow timers.
 */

/**
 * Reserve (authorize + hold, and the capture too when no step-up is needed): retried for 5
 * minutes, then the transfer fails and releases. A one-call reserve that committed but whose
 * answers were all lost is found by that release (`hold_already_captured`): the transfer waits
 * in `needs_attention` for an operator's `resolveAsCompleted`, nothing moves twice (the same
 * key replays the capture to every retry that does get through).
 */
export const reserveActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '5m',
  localRetryThreshold: '10s',
  retry: backoff('30s'),
};

/**
 * The pivot (capture + credit + records). Once decided it is retried until WalletService
 * answers: giving up on an outage would leave it unknown whether money moved. Domain refusals
 * still fail fast.
 */
export const captureActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '15s',
  localRetryThreshold: '10s',
  retry: backoff('1m'),
};

/**
 * One round of capture retries (the pivot since 2026-12-01): when WalletService has not answered
 * for 10 minutes — down, or refusing our token (401/403 count as outages) — the transfer moves to
 * `needs_attention`, where it retries after a backoff or on an operator's signal, with the same
 * key and body. Retrying forever unseen is what `captureActivityOptions` did.
 */
export const captureRoundActivityOptions: LocalActivityOptions = {
  ...captureActivityOptions,
  scheduleToCloseTimeout: '10m',
};

/**
 * Submit of a withdrawal to the payout provider: retried on 5xx and timeouts for 10 minutes with
 * the same reference and key (the provider pays a reference once); a refusal (4xx) is final.
 */
export const payoutSubmitActivityOptions: ActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '10m',
  retry: backoff('1m'),
};

/** Reads for an operator's decision (the ledger check of `resolveAsCompleted`). */
export const ledgerCheckActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '1m',
  retry: backoff('10s'),
};

/**
 * Release (the end of every failed transfer and the undo of reserve): retried for 10 minutes,
 * then the workflow moves to `needs_attention` and waits for an operator.
 */
export const releaseActivityOptions: LocalActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '10m',
  localRetryThreshold: '10s',
  retry: backoff('1m'),
};

/**
 * Compensations of other workflows (disable a user). Retried for 10 minutes; after that the
 * workflow reports the failure instead of swallowing it.
 */
export const compensationActivityOptions: ActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '10m',
  retry: backoff('1m'),
};

/** Audit-trace records of deposits and onboarding: the outcome is decided, so be patient (30 minutes). */
export const recordActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '30m',
  retry: backoff('2m'),
};

/** Onboarding and deposit calls: a few minutes of retries cover a rolling restart. */
export const serviceCallActivityOptions: ActivityOptions = {
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '5m',
  retry: backoff('30s'),
};

/**
 * The hold-expiry sweep runs every minute; a run that cannot finish within the minute gives
 * way to the next one. It heartbeats while WalletService works.
 */
export const sweepActivityOptions: ActivityOptions = {
  startToCloseTimeout: '50s',
  scheduleToCloseTimeout: '55s',
  heartbeatTimeout: '15s',
  retry: backoff('10s'),
};
