/**
 * The public face of `transferWorkflow`: its input, the `Transfer` view (shape of
 * docs/api.md) and its query, updates and signal. The gateway imports these same
 * definitions, so the two sides cannot drift.
 */
import { ApplicationFailure, WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { searchAttributes, TASK_QUEUE } from '../temporal-config/index.js';
import { TransferError } from '../wallet/transfers/transfers.errors.js';
import { WalletError } from '../wallet/wallets/wallets.errors.js';
import type * as workflows from './index.js';

/** The workflow type as Temporal reports it (`describe().type`, visibility's `WorkflowType`). */
export const TRANSFER_WORKFLOW_TYPE = 'transferWorkflow' satisfies keyof typeof workflows;

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

/**
 * Why a transfer failed or was cancelled: its `failure_code` and the `TransferFailureCode`
 * search attribute. The services' refusals come from the enums that own them.
 */
export const TRANSFER_FAILURE_CODES = [
  WalletError.InsufficientFunds,
  TransferError.LimitExceeded,
  WalletError.WalletFrozen,
  // A wallet of the transfer is closed (final; runs started before 2026-12-01 said `wallet_frozen`).
  WalletError.WalletClosed,
  WalletError.WalletNotFound,
  WalletError.CurrencyMismatch,
  TransferError.NotAuthorized,
  'otp_failed',
  'otp_expired',
  'cancelled_by_user',
  'cancelled_by_operator',
  // WalletService refused the hold: this transfer id was released before (an earlier run gave up)…
  TransferError.TransferReleased,
  // …or already holds funds under another key.
  TransferError.TransferAlreadyReserved,
  'internal_error',
  // Never set by the workflow: the gateway's reader reports a run an operator terminated, or one
  // Temporal closed at its run or execution timeout (activities/transfer-archive-view.ts).
  'terminated',
  'timed_out',
] as const;

export type TransferFailureCode = `${(typeof TRANSFER_FAILURE_CODES)[number]}`;

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
  /**
   * sha256 of the canonical request body (the gateway's `requestHash`). Nothing reads it: an
   * Idempotency-Key replay is recognised by comparing the transfer's own fields with the request
   * (gateway `sameRequest`). Kept because the signature covers it and running transfers carry it.
   */
  request_hash: string;
  created_at: string;
  /**
   * How long the step-up OTP is awaited before the transfer is cancelled with `otp_expired`.
   * Defaults to 10 minutes; tests pass a few seconds.
   */
  otp_timeout_ms?: number;
  /**
   * First automatic retry of a transfer waiting in `needs_attention` (a failed release, or a
   * capture whose retries ran out), after this many ms; each later one waits twice as long, up
   * to 4 hours. Defaults to 15 minutes; tests pass less.
   */
  attention_retry_ms?: number;
  /**
   * How long one round of capture or release retries an unanswered WalletService (each attempt
   * still stops at 15 s) before the transfer waits in `needs_attention`. Defaults to 10 minutes;
   * tests pass seconds to park a transfer without waiting that long.
   */
  wallet_round_ms?: number;
  /**
   * The gateway's HMAC over the rest of the input (`signWorkflowInput` of
   * lib/workflow-input-signature.ts, key `WORKFLOW_INPUT_KEY`). The reserve step refuses an input
   * whose signature does not verify (`not_authorized`): a workflow started on Temporal by anyone
   * else moves nothing.
   */
  signature: string;
}

/** Default wait for the step-up OTP (the challenge's own `expires_at` ends it earlier). */
export const DEFAULT_OTP_TIMEOUT_MS = 10 * 60 * 1000;
/** Default first automatic retry of a `needs_attention` transfer, and the longest wait between two. */
export const DEFAULT_ATTENTION_RETRY_MS = 15 * 60 * 1000;
export const MAX_ATTENTION_RETRY_MS = 4 * 60 * 60 * 1000;
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
/**
 * Operator action on a `needs_attention` transfer: try again now what it waits on (the failed
 * release, or the capture). The transfer also retries by itself after a backoff.
 */
export const retryCompensation = defineSignal('retryCompensation');
/**
 * Operator action on a `needs_attention` transfer whose release found the hold captured
 * (`hold_already_captured`: the money moved, a retry cannot fix it). The workflow reads the
 * transfer's capture from WalletService's journal; when the destination was credited the amount
 * the transfer ends `completed` and the update returns it, else it fails `not_captured` and the
 * transfer keeps waiting.
 */
export const resolveAsCompleted = defineUpdate<Transfer, []>('resolveAsCompleted');

/**
 * Failure types the updates report (the gateway maps them to HTTP):
 * - `validation_failed` — confirmOtp code is not 6 digits (rejected by the validator, never in history);
 * - `not_awaiting_confirmation` — confirmOtp while no code is expected;
 * - `otp_verification_in_progress` — a second confirmOtp while one is being checked;
 * - `otp_invalid` (details `[{ attempts_left }]`) — wrong code, the transfer still waits;
 * - `otp_failed` / `otp_expired` — the transfer was cancelled because of this code;
 * - `upstream_unavailable` — AuthService could not check the code; try again;
 * - `cannot_cancel` — cancelTransfer after the funds were captured;
 * - `not_resolvable` — resolveAsCompleted on a transfer that is not waiting on a captured hold;
 * - `not_captured` — resolveAsCompleted, but the journal shows no capture of this transfer.
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
  'not_resolvable',
  'not_captured',
] as const;

export type TransferUpdateError = (typeof TRANSFER_UPDATE_ERRORS)[number];

/** How the transfer's updates refuse: a non-retryable failure whose type is a `TransferUpdateError`. */
export function transferUpdateRefusal(
  code: TransferUpdateError,
  message: string,
  details?: Record<string, unknown>,
): ApplicationFailure {
  // Without details the failure carries none (not one `undefined`), as it always did.
  return details === undefined
    ? ApplicationFailure.nonRetryable(message, code)
    : ApplicationFailure.nonRetryable(message, code, details);
}

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
 * The search attributes a transfer starts with (status `pending`): the parties, the amount and
 * the initiator, which never change, and the status.
 */
function transferSearchAttributes(input: TransferInput, status: TransferStatus): SearchAttributePair[] {
  return [
    ...transferStatusAttributes(status),
    { key: searchAttributes.FromWalletId, value: input.from_wallet_id },
    { key: searchAttributes.ToWalletId, value: input.to_wallet_id },
    // Int search attributes are 64-bit; a JS number is exact up to 2^53 minor units, far above any limit.
    { key: searchAttributes.TransferAmount, value: Number(input.amount) },
    { key: searchAttributes.TransferCurrency, value: input.currency },
    { key: searchAttributes.InitiatedBy, value: input.initiated_by.user_id },
  ];
}

/**
 * What a status change upserts: the status, and `failureCode` with the terminal status it
 * explains. Only what changed: an upsert merges into the attributes the start set, so sending
 * the unchanged ones again only made each upsert event ~4x larger.
 */
export function transferStatusAttributes(
  status: TransferStatus,
  failureCode?: TransferFailureCode,
): SearchAttributePair[] {
  return [
    { key: searchAttributes.TransferStatus, value: status },
    ...(failureCode === undefined
      ? []
      : [{ key: searchAttributes.TransferFailureCode, value: failureCode } as SearchAttributePair]),
  ];
}
