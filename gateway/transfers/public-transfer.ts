import type { NonRetryableErrorType } from '../../temporal-config/activity-options.js';
import { failureCode } from '../../activities/transfer-archive-view.js';
import type { Transfer, TransferFailureCode, TransferStep } from '../../workflows/transfer-contract.js';

/**
 * Every code a transfer step may report: the transfer's failure codes, the domain codes the
 * activities raise, and the outage kinds the workflow names itself. Anything else is shown as
 * `internal_error`.
 */
export type StepErrorCode =
  TransferFailureCode | NonRetryableErrorType | 'cancelled' | 'upstream_unavailable';

/**
 * The only words the public API says about a failed step. Fixed per code, so nothing the
 * workflow recorded for operators (internal paths, the other wallet's currency or frozen state,
 * upstream answers) reaches a client; the raw reason stays in Temporal.
 */
export const STEP_ERROR_MESSAGES: Record<StepErrorCode, string> = {
  insufficient_funds: 'the source wallet does not have enough available funds',
  limit_exceeded: 'the transfer is over your transfer limits',
  wallet_frozen: 'a wallet of this transfer cannot send or receive money right now',
  wallet_closed: 'a wallet of this transfer cannot send or receive money any more',
  wallet_not_found: 'a wallet of this transfer could not be used',
  currency_mismatch: 'the wallets of this transfer cannot exchange this currency',
  not_authorized: 'the transfer was not authorized',
  otp_failed: 'too many wrong codes: the transfer was cancelled',
  otp_expired: 'no valid code arrived in time: the transfer was cancelled',
  otp_invalid: 'wrong code',
  otp_exhausted: 'too many wrong codes',
  otp_cooldown: 'a code was sent moments ago; wait before asking for another',
  cancelled_by_user: 'cancelled at your request',
  cancelled_by_operator: 'cancelled by an operator',
  terminated: 'stopped by an operator; support will settle any funds it held',
  timed_out: 'stopped because it ran for too long; support will settle any funds it held',
  cancelled: 'stopped because the transfer was cancelled',
  internal_error: 'the step failed for an internal reason',
  upstream_unavailable: 'a service was unavailable for too long',
  user_not_found: 'the transfer was not authorized',
  registration_not_found: 'the step failed for an internal reason',
  hold_not_found: 'the reserved funds were no longer held',
  hold_not_active: 'the reserved funds were no longer held',
  hold_already_captured: 'the reserved funds were already moved',
  capture_exceeds_hold: 'the step failed for an internal reason',
  reversal_not_possible: 'the transfer could not be reversed',
  validation_failed: 'the step failed for an internal reason',
  idempotency_key_mismatch: 'the step failed for an internal reason',
  cannot_cancel: 'the funds were already moved: the transfer cannot be cancelled',
  transfer_released: 'this transfer was already given up: start a new one',
  transfer_already_reserved: 'this transfer already holds funds: start a new one',
};

function isStepErrorCode(code: string): code is StepErrorCode {
  return Object.hasOwn(STEP_ERROR_MESSAGES, code);
}

/** A known code as it is, any other as `internal_error` (the set above is the whole vocabulary). */
export function publicErrorCode(code: string): StepErrorCode {
  return isStepErrorCode(code) ? code : 'internal_error';
}

/** A step as clients see it: its code and that code's fixed message, never the raw reason. */
export interface PublicTransferStep extends Omit<TransferStep, 'error_code'> {
  error_code?: StepErrorCode;
}

/** The `Transfer` of docs/api.md as the gateway answers it. */
export interface PublicTransfer extends Omit<Transfer, 'steps'> {
  steps: PublicTransferStep[];
}

function publicStep(step: TransferStep): PublicTransferStep {
  const failed = step.error_code !== undefined || step.error !== undefined;
  const code = failed ? publicErrorCode(step.error_code ?? 'internal_error') : undefined;
  return {
    name: step.name,
    status: step.status,
    attempts: step.attempts,
    ...(code === undefined ? {} : { error_code: code, error: STEP_ERROR_MESSAGES[code] }),
  };
}

/**
 * The public `Transfer` (docs/api.md) from the workflow's view: fields picked one by one,
 * so a field the workflow adds for operators never leaks by default.
 */
export function publicTransfer(t: Transfer): PublicTransfer {
  return {
    id: t.id,
    status: t.status,
    from_wallet_id: t.from_wallet_id,
    to_wallet_id: t.to_wallet_id,
    amount: t.amount,
    currency: t.currency,
    description: t.description,
    steps: t.steps.map(publicStep),
    ...(t.failure_code === undefined ? {} : { failure_code: failureCode(t.failure_code) }),
    created_at: t.created_at,
    ...(t.completed_at === undefined ? {} : { completed_at: t.completed_at }),
  };
}
