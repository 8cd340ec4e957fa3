/**
 * The steps of the transfer SAGA. Each is one activity with its own options (see
 * temporal-config/activity-options.ts) and its own idempotency key `<workflowId>:<step>`.
 */
import type { Counter } from 'prom-client';
import type { HttpClient } from '../lib/http-client.js';
import type { TransferInitiator } from '../workflows/transfer-contract.js';
import type { AuthUser, Hold, OtpChallenge, Wallet } from './upstream-types.js';
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
  /** Clock of the activity side (the rolling 24 h volume window); injectable for tests. */
  now?: () => Date;
  /** Counts finished transfers by outcome and failure code. */
  transfersFinished?: Counter<'outcome' | 'failure_code'>;
}

/** Every activity result carries the attempt that produced it, for the `Transfer.steps` view. */
export interface Attempted {
  attempt: number;
}

export interface AuthorizeInput {
  transfer_id: string;
  from_wallet_id: string;
  to_wallet_id: string;
  amount: string;
  currency: string;
  user_id: string;
}

export interface AuthorizeResult extends Attempted {
  step_up_required: boolean;
}

export interface ReserveInput {
  transfer_id: string;
  wallet_id: string;
  amount: string;
  currency: string;
  /** Computed once by the workflow so a replayed request carries the very same body. */
  expires_at: string;
}

export interface ReserveResult extends Attempted {
  hold_id: string;
}

export interface ReleaseInput extends ReserveInput {
  /** Known when the reserve step's answer was seen; otherwise found again by idempotency key. */
  hold_id?: string;
}

export interface ReleaseResult extends Attempted {
  released: boolean;
}

export interface CaptureInput {
  hold_id: string;
  to_wallet_id: string;
  amount: string;
}

export interface CaptureResult extends Attempted {
  transaction_id: string;
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

export interface AuditEntry {
  transfer_id?: string;
  step: string;
  status: string;
  attempt: number;
  duration_ms: number;
  error?: string;
}

export interface FinalizeInput {
  transfer_id: string;
  initiated_by: TransferInitiator;
  step_up: boolean;
  audit: AuditEntry[];
  /** How the transfer ended (counted in `orchestrator_transfers_finished_total`). */
  outcome?: 'completed' | 'failed' | 'cancelled';
  failure_code?: string;
}

/** Domain codes of the reserve call after which no hold exists under the step's key. */
const NO_HOLD_CODES = new Set([
  'insufficient_funds',
  'wallet_frozen',
  'wallet_not_found',
  'currency_mismatch',
  'invalid_expiry',
]);

export function createTransferActivities(deps: TransferActivityDeps) {
  const now = deps.now ?? (() => new Date());

  /**
   * Authorize: the initiator is an active user who owns the source wallet, both wallets exist in
   * the transfer's currency and are not frozen, and the amount fits the user's per-transfer and
   * rolling-24h limits. Decides whether an OTP step-up is needed.
   */
  async function authorizeTransfer(input: AuthorizeInput): Promise<AuthorizeResult> {
    const amount = BigInt(input.amount);
    const user = await callUpstream<AuthUser>(
      deps.auth,
      'GET',
      `/internal/users/${encodeURIComponent(input.user_id)}`,
    ).catch((err: unknown) => {
      throw isCode(err, 'user_not_found')
        ? domainFailure('not_authorized', 'the initiator is not a known user')
        : err;
    });
    if (user.status !== 'active')
      throw domainFailure('not_authorized', `the initiator's account is ${user.status}`);
    if (input.from_wallet_id === input.to_wallet_id) {
      throw domainFailure('not_authorized', 'source and destination are the same wallet');
    }

    const from = await getWallet(input.from_wallet_id);
    if (from.user_id !== input.user_id)
      throw domainFailure('not_authorized', 'the source wallet belongs to someone else');
    if (from.currency !== input.currency) {
      throw domainFailure(
        'currency_mismatch',
        `the source wallet holds ${from.currency}, not ${input.currency}`,
      );
    }
    if (from.status === 'frozen') throw domainFailure('wallet_frozen', 'the source wallet is frozen');

    const to = await getWallet(input.to_wallet_id);
    if (to.currency !== input.currency) {
      throw domainFailure(
        'currency_mismatch',
        `the destination wallet holds ${to.currency}, not ${input.currency}`,
      );
    }
    if (to.status === 'frozen') throw domainFailure('wallet_frozen', 'the destination wallet is frozen');

    if (amount > BigInt(user.limits.per_transfer)) {
      throw domainFailure(
        'limit_exceeded',
        `the amount exceeds the per-transfer limit of ${user.limits.per_transfer}`,
        {
          limit: 'per_transfer',
        },
      );
    }
    const since = new Date(now().getTime() - 24 * 60 * 60 * 1000).toISOString();
    const volume = await callUpstream<{ amount: string }>(
      deps.wallet,
      'GET',
      `/internal/users/${encodeURIComponent(input.user_id)}/volume?${new URLSearchParams({ currency: input.currency, since }).toString()}`,
    );
    if (BigInt(volume.amount) + amount > BigInt(user.limits.daily)) {
      throw domainFailure(
        'limit_exceeded',
        `the amount exceeds the rolling 24h limit of ${user.limits.daily}`,
        {
          limit: 'daily',
        },
      );
    }
    return { step_up_required: amount >= deps.stepUpThreshold, attempt: currentAttempt() };
  }

  async function getWallet(id: string): Promise<Wallet> {
    return callUpstream<Wallet>(deps.wallet, 'GET', `/internal/wallets/${encodeURIComponent(id)}`);
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

  /** Reserve: places a hold on the source wallet for the transfer's amount. */
  async function reserveFunds(input: ReserveInput): Promise<ReserveResult> {
    const hold = await createHold(input);
    return { hold_id: hold.id, attempt: currentAttempt() };
  }

  function createHold(input: ReserveInput): Promise<Hold> {
    return callUpstream<Hold>(deps.wallet, 'POST', '/internal/holds', {
      body: {
        wallet_id: input.wallet_id,
        amount: input.amount,
        currency: input.currency,
        transfer_id: input.transfer_id,
        expires_at: input.expires_at,
      },
      idempotencyKey: idempotencyKey('reserve'),
    });
  }

  /**
   * Compensation of reserve. When the hold id is unknown (the reserve step timed out after the
   * wallet may have placed it) the reserve request is replayed with its own idempotency key:
   * WalletService answers with the hold it placed — or places it now — and either way it is then
   * released, so the funds end up free. A domain refusal on the replay means no hold exists.
   */
  async function releaseFunds(input: ReleaseInput): Promise<ReleaseResult> {
    let holdId = input.hold_id;
    if (holdId === undefined && Date.parse(input.expires_at) <= now().getTime()) {
      // Past its expiry the wallet would refuse the replayed request, and any hold placed under
      // the key is expired (or about to be) by the sweep: the funds are free either way.
      return { released: false, attempt: currentAttempt() };
    }
    if (holdId === undefined) {
      try {
        holdId = (await createHold(input)).id;
      } catch (err) {
        if (NO_HOLD_CODES.has(failureType(err) ?? '')) return { released: false, attempt: currentAttempt() };
        throw err;
      }
    }
    try {
      await callUpstream<Hold>(deps.wallet, 'POST', `/internal/holds/${encodeURIComponent(holdId)}/release`, {
        idempotencyKey: idempotencyKey('release'),
      });
    } catch (err) {
      // Expired by the sweep in the meantime (or never there): nothing is reserved, which is the goal.
      if (isCode(err, 'hold_not_active') || isCode(err, 'hold_not_found'))
        return { released: false, attempt: currentAttempt() };
      throw err;
    }
    return { released: true, attempt: currentAttempt() };
  }

  /** Capture: turns the hold into a journal transaction that credits the destination. */
  async function captureFunds(input: CaptureInput): Promise<CaptureResult> {
    const res = await callUpstream<{ hold: Hold; transaction_id: string }>(
      deps.wallet,
      'POST',
      `/internal/holds/${encodeURIComponent(input.hold_id)}/capture`,
      {
        body: { to_wallet_id: input.to_wallet_id, amount: input.amount },
        idempotencyKey: idempotencyKey('capture'),
      },
    );
    return { transaction_id: res.transaction_id, attempt: currentAttempt() };
  }

  /** Finalize: the TransactionAuthLog entry and the audit trace of every step. */
  async function finalizeTransfer(input: FinalizeInput): Promise<Attempted> {
    const workflowId = currentWorkflowId();
    await callUpstream(deps.wallet, 'POST', '/internal/auth-log', {
      body: {
        transfer_id: input.transfer_id,
        workflow_id: workflowId,
        user_id: input.initiated_by.user_id,
        client_id: input.initiated_by.client_id,
        token_jti: input.initiated_by.token_jti,
        ip: input.initiated_by.ip,
        user_agent: input.initiated_by.user_agent,
        step_up: input.step_up,
      },
      idempotencyKey: idempotencyKey('auth-log'),
    });
    await writeAudit(deps.wallet, input.audit);
    // Counted once the records are written; a retried finalize that failed earlier was not counted.
    if (input.outcome)
      deps.transfersFinished?.inc({ outcome: input.outcome, failure_code: input.failure_code ?? '' });
    return { attempt: currentAttempt() };
  }

  return {
    authorizeTransfer,
    sendStepUpOtp,
    verifyStepUpOtp,
    reserveFunds,
    releaseFunds,
    captureFunds,
    finalizeTransfer,
  };
}

/** Appends audit-trace entries, one idempotency key per entry so a retry adds none twice. */
export async function writeAudit(wallet: HttpClient, entries: AuditEntry[]): Promise<void> {
  const workflowId = currentWorkflowId();
  for (const [i, entry] of entries.entries()) {
    await callUpstream(wallet, 'POST', '/internal/audit-trace', {
      body: { workflow_id: workflowId, ...entry },
      idempotencyKey: idempotencyKey(`audit:${i}:${entry.step}:${entry.status}`),
    });
  }
}

function failureType(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'type' in err && typeof err.type === 'string'
    ? err.type
    : undefined;
}

function isCode(err: unknown, code: string): boolean {
  return failureType(err) === code;
}
