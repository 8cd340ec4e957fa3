/**
 * The steps of the transfer SAGA: `reserveTransfer` (authorize + hold in one WalletService
 * call), the step-up OTP, `captureTransfer` (the pivot, with the auth log and audit trace in the
 * same wallet transaction) and `releaseTransfer` (the end of every failure path, with the same
 * records). Each has its own idempotency key `<workflowId>:<step>`; every request body is a pure
 * function of the workflow's input and state, so a retried activity sends the very same request.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Counter } from 'prom-client';
import type { HttpClient } from '../lib/http-client.js';
import { verifyWorkflowInput } from '../lib/workflow-input-signature.js';
import type {
  CaptureAnswer,
  ReleaseAnswer,
  ReserveAnswer,
  TransferLedgerAnswer,
} from '../wallet/wallet-api.js';
import { transferWorkflowId, type TransferInput } from '../workflows/transfer-contract.js';
import type { ActiveUserCache } from './active-user-cache.js';
import type { AuthUser, OtpChallenge } from './upstream-types.js';
import {
  callUpstream,
  currentAttempt,
  currentWorkflowId,
  domainFailure,
  idempotencyKey,
} from './upstream.js';

export interface TransferActivityDeps {
  auth: HttpClient;
  wallet: HttpClient;
  /** Transfers of at least this many minor units need an OTP step-up. */
  stepUpThreshold: bigint;
  /** `WORKFLOW_INPUT_KEY`, decoded: only inputs the gateway signed with it move money. */
  workflowInputKey: Uint8Array;
  /** Counts finished transfers by outcome and failure code. */
  transfersFinished?: Counter<'outcome' | 'failure_code'>;
  /**
   * Remembers an active user's status and limits for a few seconds (active-user-cache.ts says
   * what may be stale and for how long); without it every reserve asks AuthService.
   */
  activeUsers?: ActiveUserCache;
}

/** Every activity result carries the attempt that produced it, for the `Transfer.steps` view. */
export interface Attempted {
  attempt: number;
}

/** One audit-trace entry (the transfer and workflow ids come from the auth log next to it). */
export interface AuditEntry {
  step: string;
  status: string;
  attempt: number;
  duration_ms: number;
  error?: string;
}

/** The TransactionAuthLog entry of a transfer. */
export interface AuthLogRecord {
  transfer_id: string;
  workflow_id: string;
  user_id: string;
  client_id: string;
  token_jti: string;
  ip: string;
  user_agent: string;
  step_up: boolean;
  outcome: 'completed' | 'failed' | 'cancelled';
  failure_code?: string;
}

/** What capture and release record in their own wallet transaction (through the outbox). */
export interface TransferRecords {
  auth_log: AuthLogRecord;
  audit: AuditEntry[];
}

export interface ReserveInput {
  /** The workflow's whole input: its signature is verified before anything else. */
  transfer: TransferInput;
  /** The wallet computes `expires_at = now() + ttl`; the body stays the same on every retry. */
  hold_ttl_seconds: number;
  /**
   * Set by the workflow since 2026-12-02 (the one-call reserve): when no
   * step-up is needed, capture in the same wallet call and transaction with these records, the
   * ones the capture would record (the reserve's audit entry gets this call's attempt and time).
   */
  capture?: { records: TransferRecords };
}

export interface ReserveResult extends Attempted {
  hold_id: string;
  step_up_required: boolean;
  /** True when the wallet captured in the same call (`capture` asked, no step-up needed). */
  captured?: boolean;
  /** The capture's journal transaction, when `captured`. */
  transaction_id?: string;
}

export interface CaptureInput {
  hold_id: string;
  to_wallet_id: string;
  amount: string;
  records: TransferRecords;
}

export interface CaptureResult extends Attempted {
  transaction_id: string;
}

export interface ReleaseInput {
  transfer_id: string;
  records: TransferRecords;
}

export interface ReleaseResult extends Attempted {
  released: boolean;
}

export interface LedgerCheckInput {
  transfer_id: string;
  to_wallet_id: string;
  amount: string;
}

export interface LedgerCheckResult extends Attempted {
  /** True when the journal holds this transfer's capture: `amount` credited to `to_wallet_id`. */
  captured: boolean;
  transaction_id?: string;
}

export interface SendOtpInput {
  user_id: string;
  transfer_id: string;
}

export interface SendOtpResult extends Attempted {
  challenge_id: string;
  expires_at: string;
}

export interface VerifyOtpInput {
  challenge_id: string;
  user_id: string;
  code: string;
  /** 1 for the first code tried, 2 for the second…: each check is its own idempotent request. */
  try_number: number;
}

export function createTransferActivities(deps: TransferActivityDeps) {
  /**
   * Reserve: the input must carry the gateway's signature and run under its own workflow id (a
   * workflow started by anyone else is refused `not_authorized` before any call). AuthService says whether the initiator is active
   * and what their limits are (an active user's answer may come from `activeUsers`); then ONE WalletService call checks ownership, wallet statuses,
   * currency, the per-transfer and rolling-24h limits (captured volume and active holds) and
   * places the hold, atomically. Decides whether an OTP step-up is needed; when none is and the
   * workflow asked (`capture`), the same call and transaction also captures (migration 0046).
   */
  async function reserveTransfer(input: ReserveInput): Promise<ReserveResult> {
    const startedMs = Date.now();
    const transfer = input.transfer;
    if (!verifyWorkflowInput(transfer, deps.workflowInputKey)) {
      throw domainFailure('not_authorized', 'the transfer input is not signed by the gateway');
    }
    // A signed input replayed under another workflow id (read from a history) is refused too:
    // the gateway's id `transfer-<id>` can run only once.
    if (!boundToWorkflow(transfer.transfer_id)) {
      throw domainFailure('not_authorized', 'the transfer input belongs to another workflow');
    }
    const userId = transfer.initiated_by.user_id;
    const lookUp = () =>
      callUpstream<AuthUser>(deps.auth, 'GET', `/internal/users/${encodeURIComponent(userId)}`);
    const user = await (deps.activeUsers ? deps.activeUsers.get(userId, lookUp) : lookUp()).catch(
      (err: unknown) => {
        throw err instanceof ApplicationFailure && err.type === 'user_not_found'
          ? domainFailure('not_authorized', 'the initiator is not a known user')
          : err;
      },
    );
    if (user.status !== 'active')
      throw domainFailure('not_authorized', `the initiator's account is ${user.status}`);

    const stepUpRequired = BigInt(transfer.amount) >= deps.stepUpThreshold;
    const records =
      input.capture && !stepUpRequired ? withReserveEntry(input.capture.records, startedMs) : undefined;
    const res = await callUpstream<ReserveAnswer>(
      deps.wallet,
      'POST',
      `/internal/transfers/${encodeURIComponent(transfer.transfer_id)}/reserve`,
      {
        body: {
          user_id: transfer.initiated_by.user_id,
          from_wallet_id: transfer.from_wallet_id,
          to_wallet_id: transfer.to_wallet_id,
          amount: transfer.amount,
          currency: transfer.currency,
          limits: { per_transfer: user.limits.per_transfer, daily: user.limits.daily },
          hold_ttl_seconds: input.hold_ttl_seconds,
          // The capture's own key: a capture sent later for this transfer replays this one.
          ...(records ? { capture: { idempotency_key: idempotencyKey('capture'), records } } : {}),
        },
        idempotencyKey: idempotencyKey('reserve'),
      },
    );
    if (records && res.captured === true && res.transaction_id !== undefined) {
      countFinished(records);
      return {
        hold_id: res.hold.id,
        step_up_required: false,
        captured: true,
        transaction_id: res.transaction_id,
        attempt: currentAttempt(),
      };
    }
    return { hold_id: res.hold.id, step_up_required: stepUpRequired, attempt: currentAttempt() };
  }

  /**
   * The records as the capture would write them after this reserve: its audit entry carries the
   * attempt that captured and how long this attempt has run so far (the workflow cannot know
   * either before the call). A retry may send other figures: records are not fingerprinted, and
   * the first commit's are the ones kept.
   */
  function withReserveEntry(records: TransferRecords, startedMs: number): TransferRecords {
    const reserve: AuditEntry = {
      step: 'reserve',
      status: 'completed',
      attempt: currentAttempt(),
      duration_ms: Math.max(0, Date.now() - startedMs),
    };
    return {
      ...records,
      audit: records.audit.map((entry) => (entry.step === 'reserve' ? reserve : entry)),
    };
  }

  /** Step-up: asks AuthService to send the user a one-time code for this transfer. */
  async function sendStepUpOtp(input: SendOtpInput): Promise<SendOtpResult> {
    const challenge = await callUpstream<OtpChallenge>(deps.auth, 'POST', '/internal/otp/send', {
      body: { user_id: input.user_id, purpose: 'step_up', reference: input.transfer_id },
      idempotencyKey: idempotencyKey('step-up-send'),
    });
    return { ...challenge, attempt: currentAttempt() };
  }

  /**
   * Checks a code with AuthService. Resolves on a valid code; a wrong, expired or exhausted code
   * is a non-retryable failure typed `otp_invalid` / `otp_expired` / `otp_exhausted`.
   */
  async function verifyStepUpOtp(input: VerifyOtpInput): Promise<Attempted> {
    await callUpstream<{ valid: true }>(deps.auth, 'POST', '/internal/otp/verify', {
      body: {
        challenge_id: input.challenge_id,
        user_id: input.user_id,
        purpose: 'step_up',
        code: input.code,
      },
      idempotencyKey: idempotencyKey(`step-up-verify:${input.try_number}`),
    });
    return { attempt: currentAttempt() };
  }

  /**
   * Capture (the pivot): debits the hold, credits the destination, and records the auth log and
   * the audit trace, all in one wallet transaction.
   */
  async function captureTransfer(input: CaptureInput): Promise<CaptureResult> {
    const res = await callUpstream<CaptureAnswer>(
      deps.wallet,
      'POST',
      `/internal/holds/${encodeURIComponent(input.hold_id)}/capture`,
      {
        body: { to_wallet_id: input.to_wallet_id, amount: input.amount, records: input.records },
        idempotencyKey: idempotencyKey('capture'),
      },
    );
    countFinished(input.records);
    return { transaction_id: res.transaction_id, attempt: currentAttempt() };
  }

  /**
   * The end of every failure path and the undo of reserve: releases the transfer's hold if one
   * is active (found by transfer id, so a hold whose reserve answer was lost is found too) and
   * records the auth log and audit trace. No hold (reserve refused or never placed) is fine:
   * `released: false`, the records are still written. A captured hold fails loudly
   * (`hold_already_captured`): the workflow then waits for an operator.
   */
  async function releaseTransfer(input: ReleaseInput): Promise<ReleaseResult> {
    if (!boundToWorkflow(input.transfer_id)) {
      // A workflow started by hand under another id must not free someone else's hold; its
      // reserve was refused, so there is nothing of its own to release.
      Context.current().log.warn('release refused: the transfer id belongs to another workflow', {
        transferId: input.transfer_id,
      });
      return { released: false, attempt: currentAttempt() };
    }
    const res = await callUpstream<ReleaseAnswer>(
      deps.wallet,
      'POST',
      `/internal/transfers/${encodeURIComponent(input.transfer_id)}/release`,
      { body: { records: input.records }, idempotencyKey: idempotencyKey('release') },
    );
    countFinished(input.records);
    return { released: res.released, attempt: currentAttempt() };
  }

  /**
   * Reads the transfer's hold and capture from WalletService's journal (read-only): the check an
   * operator's `resolveAsCompleted` needs before a transfer is closed as `completed`.
   */
  async function checkTransferCaptured(input: LedgerCheckInput): Promise<LedgerCheckResult> {
    const res = await callUpstream<TransferLedgerAnswer>(
      deps.wallet,
      'GET',
      `/internal/transfers/${encodeURIComponent(input.transfer_id)}`,
    );
    const capture = res.capture;
    const captured =
      capture !== null && capture.to_wallet_id === input.to_wallet_id && capture.amount === input.amount;
    return {
      captured,
      ...(captured ? { transaction_id: capture.transaction_id } : {}),
      attempt: currentAttempt(),
    };
  }

  function countFinished(records: TransferRecords): void {
    const { outcome, failure_code } = records.auth_log;
    deps.transfersFinished?.inc({ outcome, failure_code: failure_code ?? '' });
  }

  return {
    reserveTransfer,
    sendStepUpOtp,
    verifyStepUpOtp,
    captureTransfer,
    releaseTransfer,
    checkTransferCaptured,
  };
}

/** True when the running workflow is the transfer's own (`transfer-<transfer_id>`). */
function boundToWorkflow(transferId: string): boolean {
  return currentWorkflowId() === transferWorkflowId(transferId);
}
