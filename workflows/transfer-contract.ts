/**
 * The public face of `transferWorkflow`: its input, the `Transfer` view (shape of
 * ../shared/API.md) and its query, updates and signal. The gateway imports these same
 * definitions, so the two sides cannot drift.
 */
import { WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { searchAttributes, TASK_QUEUE } from '../temporal-config/index.js';

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
  | 'cancelled_by_operator'
  | 'internal_error';

export interface TransferStep {
  name: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'compensated' | 'compensation_failed' | 'skipped';
  attempts: number;
  /**
   * Stable code of the step's last failure (a `TransferFailureCode` or a domain code such as
   * `upstream_unavailable`): what the public API shows, with a fixed message.
   */
  error_code?: string;
  /** The raw reason, for operators (Web UI, query); never shown publicly. */
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
  /**
   * How long the step-up OTP is awaited before the transfer is cancelled with `otp_expired`.
   * Defaults to 10 minutes; tests pass a few seconds.
   */
  otp_timeout_ms?: number;
  /**
   * The gateway's HMAC over the rest of the input (`signWorkflowInput` of
   * lib/workflow-input-signature.ts, key `WORKFLOW_INPUT_KEY`). The reserve step refuses an input
   * whose signature does not verify (`not_authorized`): a workflow started on Temporal by anyone
   * else moves nothing.
   */
  signature: string;
}

/** Default wait for the step-up OTP. */
export const DEFAULT_OTP_TIMEOUT_MS = 10 * 60 * 1000;
/** Wrong codes accepted before the transfer is cancelled with `otp_failed`. */
export const MAX_OTP_TRIES = 3;

/** Workflow id of a transfer: meaningful, so operators can find it. */
export function transferWorkflowId(transferId: string): string {
  return `transfer-${transferId}`;
}

export const getTransfer = defineQuery<Transfer>('getTransfer');
/** Step-up: carries the OTP code; the validator rejects malformed codes before history is written. */
export const confirmOtp = defineUpdate<Transfer, [{ code: string }]>('confirmOtp');
/** Honoured until the capture step, refused after it. */
export const cancelTransfer = defineUpdate<Transfer, []>('cancelTransfer');
/**
 * Resolves with the Transfer once it is settled (`completed`, `failed`, `cancelled`,
 * `needs_attention`) or waits for the step-up code (`awaiting_confirmation`). The gateway's
 * `Prefer: wait` sends it with Update-with-Start, so one call starts the transfer and waits.
 */
export const waitForTransfer = defineUpdate<Transfer, []>('waitForTransfer');
/** Statuses at which `waitForTransfer` answers. */
export const WAIT_FOR_TRANSFER_STATUSES: readonly TransferStatus[] = [
  ...TERMINAL_STATUSES,
  'needs_attention',
  'awaiting_confirmation',
];
/** Operator action on a `needs_attention` transfer: try the failed compensations again. */
export const retryCompensation = defineSignal('retryCompensation');

/**
 * Failure types the updates report (the gateway maps them to HTTP):
 * - `validation_failed` — confirmOtp code is not 6 digits (rejected by the validator, never in history);
 * - `not_awaiting_confirmation` — confirmOtp while no code is expected;
 * - `otp_verification_in_progress` — a second confirmOtp while one is being checked;
 * - `otp_invalid` (details `[{ attempts_left }]`) — wrong code, the transfer still waits;
 * - `otp_failed` / `otp_expired` — the transfer was cancelled because of this code;
 * - `upstream_unavailable` — AuthService could not check the code; try again;
 * - `cannot_cancel` — cancelTransfer after the funds were captured.
 */
export const TRANSFER_UPDATE_ERRORS = [
  'validation_failed',
  'not_awaiting_confirmation',
  'otp_verification_in_progress',
  'otp_invalid',
  'otp_failed',
  'otp_expired',
  'upstream_unavailable',
  'cannot_cancel',
] as const;

/**
 * Start options that make a transfer read like a payment in the Web UI and keep it unique:
 * meaningful id, summary and details, the description as memo, the search attributes from the
 * first moment, and an id that can never be reused (a finished transfer is never run again).
 * The memo is written here once and never upserted by the workflow: with the search attributes
 * (status and `TransferFailureCode`) it is all a transfer list needs from visibility.
 * Spread into `client.workflow.start(transferWorkflow, { ...transferStartOptions(input) })`.
 */
export function transferStartOptions(input: TransferInput) {
  return {
    taskQueue: TASK_QUEUE,
    workflowId: transferWorkflowId(input.transfer_id),
    args: [input] as [TransferInput],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `Transfer ${input.amount} ${input.currency} (minor units) ${input.from_wallet_id} → ${input.to_wallet_id}`,
    staticDetails: [
      `**Transfer** \`${input.transfer_id}\``,
      `- amount: ${input.amount} ${input.currency} (minor units)`,
      `- from wallet: \`${input.from_wallet_id}\``,
      `- to wallet: \`${input.to_wallet_id}\``,
      `- initiated by: \`${input.initiated_by.user_id}\` via \`${input.initiated_by.client_id}\``,
    ].join('\n'),
    memo: { description: input.description, transfer_id: input.transfer_id },
    typedSearchAttributes: transferSearchAttributes(input, 'pending'),
  };
}

/**
 * The search attributes of a transfer in a given status (upserted at every status change, all
 * in one upsert). `failureCode` goes with the terminal status it explains.
 */
export function transferSearchAttributes(
  input: TransferInput,
  status: TransferStatus,
  failureCode?: TransferFailureCode,
): SearchAttributePair[] {
  return [
    { key: searchAttributes.TransferStatus, value: status },
    { key: searchAttributes.FromWalletId, value: input.from_wallet_id },
    { key: searchAttributes.ToWalletId, value: input.to_wallet_id },
    // Int search attributes are 64-bit; a JS number is exact up to 2^53 minor units, far above any limit.
    { key: searchAttributes.TransferAmount, value: Number(input.amount) },
    { key: searchAttributes.TransferCurrency, value: input.currency },
    { key: searchAttributes.InitiatedBy, value: input.initiated_by.user_id },
    ...(failureCode === undefined
      ? []
      : [{ key: searchAttributes.TransferFailureCode, value: failureCode } as SearchAttributePair]),
  ];
}
