/**
 * What a domain refusal (a non-retryable failure type) ends a money movement with: the failure
 * code the transfer and the withdrawal report. One Record over the non-retryable types, so a code
 * added there needs its answer here.
 */
import type { NonRetryableErrorType } from '../temporal-config/activity-options.js';
import type { TransferFailureCode } from './transfer-contract.js';
import type { WithdrawalFailureCode } from './withdrawal-contract.js';

/** The codes both a transfer and a withdrawal can fail with. */
type RefusalFailureCode = TransferFailureCode & WithdrawalFailureCode;

const FAILURE_CODE_OF_REFUSAL: Readonly<Record<NonRetryableErrorType, RefusalFailureCode>> = {
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
  reversal_not_possible: 'internal_error',
  validation_failed: 'internal_error',
  idempotency_key_mismatch: 'internal_error',
  cannot_cancel: 'internal_error',
};

/**
 * The failure code of a refusal, or undefined when `type` is none (an outage, an unknown code):
 * the caller decides what that means (`internal_error`, or another round of retries).
 */
export function failureCodeOfRefusal(type: string | undefined): RefusalFailureCode | undefined {
  return type !== undefined && Object.hasOwn(FAILURE_CODE_OF_REFUSAL, type)
    ? FAILURE_CODE_OF_REFUSAL[type as NonRetryableErrorType]
    : undefined;
}
