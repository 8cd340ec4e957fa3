/**
 * The public face of `transferWorkflow`: its input, the `Transfer` view (shape of
 * ../shared/API.md) and its query, updates and signal. The gateway imports these same
 * definitions, so the two sides cannot drift.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export type TransferStatus =
  | 'pending'
  | 'awaiting_confirmation'
  | 'processing'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'compensating'
  | 'needs_attention';

export const TERMINAL_STATUSES: readonly TransferStatus[] = ['completed', 'failed', 'cancelled'];

export type TransferFailureCode =
  | 'insufficient_funds'
  | 'limit_exceeded'
  | 'wallet_frozen'
  | 'wallet_not_found'
  | 'currency_mismatch'
  | 'not_authorized'
  | 'otp_failed'
  | 'otp_expired'
  | 'cancelled_by_user'
  | 'internal_error';

export interface TransferStep {
  name: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'compensated' | 'compensation_failed' | 'skipped';
  attempts: number;
  error?: string;
}

/** The `Transfer` object of the public API. Amounts are strings of digits (minor units). */
export interface Transfer {
  id: string;
  status: TransferStatus;
  from_wallet_id: string;
  to_wallet_id: string;
  amount: string;
  currency: string;
  description: string;
  steps: TransferStep[];
  failure_code?: TransferFailureCode;
  created_at: string;
  completed_at?: string;
}

/** Who asked for the transfer; recorded in the TransactionAuthLog. */
export interface TransferInitiator {
  user_id: string;
  client_id: string;
  token_jti: string;
  ip: string;
  user_agent: string;
}

/** The one parameter of `transferWorkflow`. */
export interface TransferInput {
  transfer_id: string;
  from_wallet_id: string;
  to_wallet_id: string;
  amount: string;
  currency: string;
  description: string;
  initiated_by: TransferInitiator;
  /** sha256 of the canonical request body: the gateway compares it on idempotent replays. */
  request_hash: string;
  created_at: string;
}

/** Workflow id of a transfer: meaningful, so operators can find it. */
export function transferWorkflowId(transferId: string): string {
  return `transfer-${transferId}`;
}

export const getTransfer = defineQuery<Transfer>('getTransfer');
/** Step-up: carries the OTP code; the validator rejects malformed codes before history is written. */
export const confirmOtp = defineUpdate<Transfer, [{ code: string }]>('confirmOtp');
/** Honoured until the capture step, refused after it. */
export const cancelTransfer = defineUpdate<Transfer, []>('cancelTransfer');
/** Operator action on a `needs_attention` transfer: try the failed compensations again. */
export const retryCompensation = defineSignal('retryCompensation');
