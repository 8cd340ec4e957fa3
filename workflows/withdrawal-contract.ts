/**
 * The public face of `withdrawalWorkflow`: its input, the `Withdrawal` view (shape of
 * docs/api.md), its query, updates and signals, and its start options. The gateway (routes and
 * the provider's webhook) imports these same definitions.
 */
import { WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { searchAttributes, TASK_QUEUE } from '../temporal-config/index.js';
import type * as workflows from './index.js';
import type { TransferInitiator, TransferStep } from './transfer-contract.js';

/** The workflow type as Temporal reports it (`describe().type`, visibility's `WorkflowType`). */
export const WITHDRAWAL_WORKFLOW_TYPE = 'withdrawalWorkflow' satisfies keyof typeof workflows;

export type WithdrawalStatus =
  | 'pending'
  | 'awaiting_confirmation'
  | 'processing'
  | 'submitted'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'compensating'
  | 'needs_attention';

export const WITHDRAWAL_STATUSES = [
  'pending',
  'awaiting_confirmation',
  'processing',
  'submitted',
  'completed',
  'failed',
  'cancelled',
  'compensating',
  'needs_attention',
] as const satisfies readonly WithdrawalStatus[];

export const WITHDRAWAL_TERMINAL_STATUSES: readonly WithdrawalStatus[] = ['completed', 'failed', 'cancelled'];

export type WithdrawalFailureCode =
  | 'insufficient_funds'
  | 'limit_exceeded'
  | 'wallet_frozen'
  | 'wallet_closed'
  | 'wallet_not_found'
  | 'currency_mismatch'
  | 'not_authorized'
  | 'otp_failed'
  | 'otp_expired'
  /** The user cancelled it before it was submitted to the provider. */
  | 'cancelled_by_user'
  | 'transfer_released'
  | 'transfer_already_reserved'
  /** The provider refused the payout (its answer to the submit, or a `rejected` result). */
  | 'payout_rejected'
  /** No result from the provider within `payout_timeout_ms`: the funds were released. */
  | 'payout_timeout'
  | 'internal_error';

/** The bank account paid out to. Only the last four IBAN characters are ever shown. */
export interface WithdrawalDestination {
  account_holder: string;
  iban: string;
}

/** The one parameter of `withdrawalWorkflow`, signed by the gateway (`signature`). */
export interface WithdrawalInput {
  withdrawal_id: string;
  wallet_id: string;
  amount: string;
  currency: string;
  destination: WithdrawalDestination;
  description: string;
  initiated_by: TransferInitiator;
  created_at: string;
  /** How long the step-up OTP is awaited (default 10 minutes; the challenge's expiry ends it earlier). */
  otp_timeout_ms?: number;
  /** How long the provider's result is awaited after the submit before the funds are released (default 30 min). */
  payout_timeout_ms?: number;
  /** How long after that release a late result is still watched for (default 24 h). */
  late_result_window_ms?: number;
  /** The gateway's HMAC over the rest (lib/workflow-input-signature.ts): the reserve refuses anything else. */
  signature: string;
}

export const DEFAULT_PAYOUT_TIMEOUT_MS = 30 * 60 * 1000;
export const DEFAULT_LATE_RESULT_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The provider's result, as its webhook reports it (payout-sim/webhook-delivery.ts `PayoutEvent`). */
export interface PayoutResult {
  event_id: string;
  status: 'settled' | 'rejected';
  provider_payout_id: string;
  amount: string;
  currency: string;
  reason?: string;
  occurred_at: string;
}

/**
 * The `payoutResult` signal's argument for a provider's webhook event: its own fields only (the
 * event's `reference` and anything else the provider sends stay out of the history).
 */
export function payoutResultOf(event: PayoutResult): PayoutResult {
  return {
    event_id: event.event_id,
    status: event.status,
    provider_payout_id: event.provider_payout_id,
    amount: event.amount,
    currency: event.currency,
    ...(event.reason === undefined ? {} : { reason: event.reason }),
    occurred_at: event.occurred_at,
  };
}

/** Why a withdrawal waits for an operator, with what proves it. */
export interface WithdrawalAttention {
  reason:
    | 'late_settlement'
    | 'settled_hold_not_capturable'
    | 'settlement_mismatch'
    | 'capture_unanswered'
    | 'release_unanswered';
  detail: string;
  /** The provider's result that caused it (event id, payout id, amount, time). */
  evidence?: PayoutResult;
}

/** The `Withdrawal` object of the public API (`attention` is for operators; the gateway drops it). */
export interface Withdrawal {
  id: string;
  status: WithdrawalStatus;
  wallet_id: string;
  amount: string;
  currency: string;
  destination: { account_holder: string; iban_last4: string };
  description: string;
  steps: TransferStep[];
  failure_code?: WithdrawalFailureCode;
  provider_reference?: string;
  created_at: string;
  completed_at?: string;
  attention?: WithdrawalAttention;
}

/** Workflow id of a withdrawal: meaningful, so operators can find it. It is also the payout reference. */
export function withdrawalWorkflowId(withdrawalId: string): string {
  return `withdrawal-${withdrawalId}`;
}

export const getWithdrawal = defineQuery<Withdrawal>('getWithdrawal');
/** Step-up: carries the OTP code (same rules as a transfer's `confirmOtp`). */
export const confirmWithdrawalOtp = defineUpdate<Withdrawal, [{ code: string }]>('confirmWithdrawalOtp');
/**
 * The user's cancel: only before the withdrawal is submitted to the provider (the hold is
 * released, `cancelled`, `cancelled_by_user`); from the submit on the rail decides and the
 * update is refused `cannot_cancel`. A cancel of a withdrawal that already failed or was
 * cancelled answers its view.
 */
export const cancelWithdrawal = defineUpdate<Withdrawal, []>('cancelWithdrawal');
/** Answers once the withdrawal is submitted to the provider, settled, or awaits its code. */
export const waitForWithdrawal = defineUpdate<Withdrawal, []>('waitForWithdrawal');
export const WAIT_FOR_WITHDRAWAL_STATUSES: readonly WithdrawalStatus[] = [
  ...WITHDRAWAL_TERMINAL_STATUSES,
  'submitted',
  'needs_attention',
  'awaiting_confirmation',
];
/** The provider's result, sent by the gateway's webhook route. Repeats (same `event_id`) change nothing. */
export const payoutResult = defineSignal<[PayoutResult]>('payoutResult');
/** Operator: try again now what `needs_attention` waits on (an unanswered capture). */
export const retryWithdrawal = defineSignal('retryWithdrawal');
/**
 * Operator: close a withdrawal parked in `needs_attention` after fixing the books by hand
 * (docs/runbook.md, "Payouts stuck at the provider"): `completed` when the money left the rail
 * and the wallet was debited, `failed` when it was recovered from the provider.
 */
export const resolveWithdrawal =
  defineSignal<[{ outcome: 'completed' | 'failed'; note: string }]>('resolveWithdrawal');

/**
 * Operator: book a payout the provider settled after the withdrawal's funds were given back
 * (`needs_attention` for `late_settlement` or `settled_hold_not_capturable`): the wallet is
 * debited for it into payouts:<ccy> in one WalletService booking, and the withdrawal completes.
 * Refused when the wallet no longer has the funds (`insufficient_funds`: a collection case) or
 * is frozen or closed; the withdrawal then stays in `needs_attention` (docs/runbook.md,
 * "Payouts stuck at the provider").
 */
export const settleLatePayout = defineUpdate<Withdrawal, [{ note: string }]>('settleLatePayout');
/** The attention reasons whose fix is the mechanical booking of `settleLatePayout`. */
export const LATE_PAYOUT_REASONS: readonly WithdrawalAttention['reason'][] = [
  'late_settlement',
  'settled_hold_not_capturable',
];
/** The id under which a late payout is held and captured on WalletService (not the withdrawal's own). */
export function latePayoutBookingId(withdrawalId: string): string {
  return `${withdrawalId}:late`;
}

/** Start options: id, summary, details, memo and search attributes from the first moment. */
export function withdrawalStartOptions(input: WithdrawalInput) {
  return {
    taskQueue: TASK_QUEUE,
    workflowId: withdrawalWorkflowId(input.withdrawal_id),
    args: [input] as [WithdrawalInput],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `Withdrawal ${input.amount} ${input.currency} (minor units) from ${input.wallet_id} to the payout rail`,
    staticDetails: [
      `**Withdrawal** \`${input.withdrawal_id}\``,
      `- amount: ${input.amount} ${input.currency} (minor units)`,
      `- from wallet: \`${input.wallet_id}\``,
      `- to: ${input.destination.account_holder}, IBAN …${input.destination.iban.slice(-4)}`,
      `- initiated by: \`${input.initiated_by.user_id}\` via \`${input.initiated_by.client_id}\``,
    ].join('\n'),
    memo: {
      description: input.description,
      withdrawal_id: input.withdrawal_id,
      account_holder: input.destination.account_holder,
      iban_last4: input.destination.iban.slice(-4),
    },
    typedSearchAttributes: withdrawalSearchAttributes(input, 'pending'),
  };
}

/**
 * The search attributes of a withdrawal in a status. The wallet, amount, currency, initiator and
 * failure code reuse the transfer's keys (FromWalletId, TransferAmount…); `WithdrawalStatus` is
 * its own, so transfer lists filtering on `TransferStatus` never meet a withdrawal.
 */
export function withdrawalSearchAttributes(
  input: WithdrawalInput,
  status: WithdrawalStatus,
  failureCode?: WithdrawalFailureCode,
): SearchAttributePair[] {
  return [
    { key: searchAttributes.WithdrawalStatus, value: status },
    { key: searchAttributes.FromWalletId, value: input.wallet_id },
    { key: searchAttributes.TransferAmount, value: Number(input.amount) },
    { key: searchAttributes.TransferCurrency, value: input.currency },
    { key: searchAttributes.InitiatedBy, value: input.initiated_by.user_id },
    ...(failureCode === undefined
      ? []
      : [{ key: searchAttributes.TransferFailureCode, value: failureCode } as SearchAttributePair]),
  ];
}
