/**
 * The steps of the withdrawal saga that differ from a transfer's: the reserve on WalletService
 * (no destination wallet: the capture goes to `payouts:<ccy>`), the submit to the payout
 * provider, the capture and the release. The step-up OTP activities are the transfer's. Each
 * call carries `<workflowId>:<step>` as its idempotency key, and the provider is also given the
 * withdrawal id as its reference, so a retried submit pays out once.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { HttpClient } from '../lib/http-client.js';
import { verifyWorkflowInput } from '../lib/workflow-input-signature.js';
import type { ReleaseAnswer, ReserveAnswer, TransactionAnswer } from '../wallet/wallet-api.js';
import {
  latePayoutBookingId,
  withdrawalWorkflowId,
  type WithdrawalDestination,
  type WithdrawalInput,
} from '../workflows/withdrawal-contract.js';
import type { Attempted, TransferRecords } from './transfer-activities.js';
import type { AuthUser } from './upstream-types.js';
import {
  callUpstream,
  currentAttempt,
  currentWorkflowId,
  domainFailure,
  idempotencyKey,
} from './upstream.js';

export interface WithdrawalActivityDeps {
  auth: HttpClient;
  wallet: HttpClient;
  /** The payout provider (payout-sim locally), authenticated with its API key. */
  payouts?: HttpClient;
  stepUpThreshold: bigint;
  workflowInputKey: Uint8Array;
}

export interface ReserveWithdrawalInput {
  withdrawal: WithdrawalInput;
  hold_ttl_seconds: number;
}

export interface ReserveWithdrawalResult extends Attempted {
  hold_id: string;
  step_up_required: boolean;
}

export interface SubmitPayoutInput {
  reference: string;
  amount: string;
  currency: string;
  destination: WithdrawalDestination;
}

export interface SubmitPayoutResult extends Attempted {
  provider_payout_id: string;
  status: string;
}

export interface CaptureWithdrawalInput {
  withdrawal_id: string;
  provider_reference: string;
  records: TransferRecords;
}

export interface CaptureLatePayoutInput {
  withdrawal: WithdrawalInput;
  provider_reference: string;
  records: TransferRecords;
}

/** Limits do not apply to booking money the rail already paid out: the largest bigint. */
const NO_LIMIT = '9223372036854775807';

export interface ReleaseWithdrawalInput {
  withdrawal_id: string;
  records: TransferRecords;
}

export function createWithdrawalActivities(deps: WithdrawalActivityDeps) {
  /**
   * Reserve: the gateway's signature and the workflow id are checked first (a withdrawal
   * started by anyone else moves nothing); AuthService gives the user's status and limits; ONE
   * WalletService call checks ownership, wallet status, currency, limits and funds and holds.
   */
  async function reserveWithdrawal(input: ReserveWithdrawalInput): Promise<ReserveWithdrawalResult> {
    const w = input.withdrawal;
    if (!verifyWorkflowInput(w, deps.workflowInputKey))
      throw domainFailure('not_authorized', 'the withdrawal input is not signed by the gateway');
    if (!boundToWorkflow(w.withdrawal_id))
      throw domainFailure('not_authorized', 'the withdrawal input belongs to another workflow');
    const user = await callUpstream<AuthUser>(
      deps.auth,
      'GET',
      `/internal/users/${encodeURIComponent(w.initiated_by.user_id)}`,
    ).catch((err: unknown) => {
      throw err instanceof ApplicationFailure && err.type === 'user_not_found'
        ? domainFailure('not_authorized', 'the initiator is not a known user')
        : err;
    });
    if (user.status !== 'active')
      throw domainFailure('not_authorized', `the initiator's account is ${user.status}`);
    const res = await callUpstream<ReserveAnswer>(
      deps.wallet,
      'POST',
      `/internal/withdrawals/${encodeURIComponent(w.withdrawal_id)}/reserve`,
      {
        body: {
          user_id: w.initiated_by.user_id,
          wallet_id: w.wallet_id,
          amount: w.amount,
          currency: w.currency,
          limits: { per_transfer: user.limits.per_transfer, daily: user.limits.daily },
          hold_ttl_seconds: input.hold_ttl_seconds,
        },
        idempotencyKey: idempotencyKey('reserve'),
      },
    );
    return {
      hold_id: res.hold.id,
      step_up_required: BigInt(w.amount) >= deps.stepUpThreshold,
      attempt: currentAttempt(),
    };
  }

  /**
   * Asks the provider to pay out. 5xx, timeouts and refused connections are retried (the same
   * reference and key: the provider pays a reference once); a 4xx is its final "no", reported
   * as `payout_rejected`.
   */
  async function submitPayout(input: SubmitPayoutInput): Promise<SubmitPayoutResult> {
    if (!deps.payouts) throw new Error('no payout provider configured (PAYOUT_PROVIDER_URL)');
    try {
      const res = await callUpstream<{ provider_payout_id: string; status: string }>(
        deps.payouts,
        'POST',
        '/v1/payouts',
        { body: input, idempotencyKey: idempotencyKey('submit') },
      );
      return { provider_payout_id: res.provider_payout_id, status: res.status, attempt: currentAttempt() };
    } catch (err) {
      if (err instanceof ApplicationFailure && err.nonRetryable)
        throw domainFailure('payout_rejected', `the provider refused the payout: ${err.message}`, {
          provider_code: err.type,
        });
      throw err;
    }
  }

  /** Capture: the held amount moves into payouts:<ccy>, with the auth log and audit trace. */
  async function captureWithdrawal(
    input: CaptureWithdrawalInput,
  ): Promise<Attempted & { transaction_id: string }> {
    const res = await callUpstream<TransactionAnswer>(
      deps.wallet,
      'POST',
      `/internal/withdrawals/${encodeURIComponent(input.withdrawal_id)}/capture`,
      {
        body: { provider_reference: input.provider_reference, records: input.records },
        idempotencyKey: idempotencyKey('capture'),
      },
    );
    return { transaction_id: res.transaction_id, attempt: currentAttempt() };
  }

  /**
   * An operator's booking of a payout settled after the release: the same reserve and capture as
   * a withdrawal's, under `<withdrawal id>:late` (the withdrawal's own hold was released and its
   * claim is spent), without limits — the money already left. Each call has its own key, so a
   * retry replays the reserve and captures once. Refusals (`insufficient_funds`, `wallet_frozen`,
   * `wallet_closed`) come back as they are: the operator's cue for a collection case.
   */
  async function captureLatePayout(
    input: CaptureLatePayoutInput,
  ): Promise<Attempted & { transaction_id: string }> {
    const w = input.withdrawal;
    if (!verifyWorkflowInput(w, deps.workflowInputKey) || !boundToWorkflow(w.withdrawal_id))
      throw domainFailure('not_authorized', "the withdrawal input is not this workflow's signed input");
    const id = encodeURIComponent(latePayoutBookingId(w.withdrawal_id));
    await callUpstream<ReserveAnswer>(deps.wallet, 'POST', `/internal/withdrawals/${id}/reserve`, {
      body: {
        user_id: w.initiated_by.user_id,
        wallet_id: w.wallet_id,
        amount: w.amount,
        currency: w.currency,
        limits: { per_transfer: NO_LIMIT, daily: NO_LIMIT },
        hold_ttl_seconds: 3600,
      },
      idempotencyKey: idempotencyKey('late-reserve'),
    });
    const res = await callUpstream<TransactionAnswer>(
      deps.wallet,
      'POST',
      `/internal/withdrawals/${id}/capture`,
      {
        body: { provider_reference: input.provider_reference, records: input.records },
        idempotencyKey: idempotencyKey('late-capture'),
      },
    );
    return { transaction_id: res.transaction_id, attempt: currentAttempt() };
  }

  /** Release: the transfer's release by id (the hold is kept under the withdrawal id). */
  async function releaseWithdrawal(
    input: ReleaseWithdrawalInput,
  ): Promise<Attempted & { released: boolean }> {
    if (!boundToWorkflow(input.withdrawal_id)) {
      Context.current().log.warn('release refused: the withdrawal id belongs to another workflow', {
        withdrawalId: input.withdrawal_id,
      });
      return { released: false, attempt: currentAttempt() };
    }
    const res = await callUpstream<ReleaseAnswer>(
      deps.wallet,
      'POST',
      `/internal/transfers/${encodeURIComponent(input.withdrawal_id)}/release`,
      { body: { records: input.records }, idempotencyKey: idempotencyKey('release') },
    );
    return { released: res.released, attempt: currentAttempt() };
  }

  return { reserveWithdrawal, submitPayout, captureWithdrawal, captureLatePayout, releaseWithdrawal };
}

function boundToWorkflow(withdrawalId: string): boolean {
  return currentWorkflowId() === withdrawalWorkflowId(withdrawalId);
}
