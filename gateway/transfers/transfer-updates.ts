/**
 * The two things a client asks of a running transfer — confirm its step-up code, cancel it — and
 * how the workflow's refusals of them become problems.
 */
import {
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { ProblemError } from '../../lib/problem.js';
import { otpActivityOptions } from '../../temporal-config/activity-options.js';
import {
  cancelTransfer,
  confirmOtp,
  type Transfer,
  type TransferUpdateError,
} from '../../workflows/transfer-contract.js';
import { applicationFailureDetails, applicationFailureType, domainStatus } from '../http/errors.js';
import { deriveUpdateId } from '../temporal/idempotency.js';
import type { Orchestrator } from '../temporal/orchestrator.js';
import { isClosedWorkflowError, orchestratorBusy } from '../temporal/workflow-problems.js';
import type { ExecutionView } from '../../activities/transfer-archive-view.js';
import { readTransfer } from './transfer-reader.js';

/**
 * Client-facing wording of every refusal a transfer's Updates report (transfer-contract.ts). The
 * operator's `resolveAsCompleted` refusals never reach a client; they are worded all the same.
 */
const UPDATE_DETAIL: Record<TransferUpdateError, string> = {
  validation_failed: 'the code must be exactly 6 digits',
  not_awaiting_confirmation: 'this transfer is not waiting for a code',
  otp_verification_in_progress: 'a code is being checked already',
  otp_invalid: 'wrong code',
  otp_failed: 'too many wrong codes: the transfer was cancelled',
  otp_expired: 'the code expired: the transfer was cancelled',
  upstream_unavailable: 'the code could not be checked right now; try again',
  cannot_cancel: 'the funds were already captured; the transfer cannot be cancelled',
  not_resolvable: 'this transfer is not waiting on a captured hold',
  not_captured: 'the journal shows no capture of this transfer',
};

/** The wording of a refusal; a code the contract does not list gets a neutral one. */
function updateDetail(code: string): string {
  return Object.hasOwn(UPDATE_DETAIL, code)
    ? UPDATE_DETAIL[code as TransferUpdateError]
    : 'the transfer refused this action';
}

/** How long a cancel waits for its answer (the workflow answers once the outcome is decided). */
const CANCEL_DEADLINE_MS = 15_000;
/**
 * A confirm outlives the OTP check it waits for (the verify activity's retries, 30 s): a code
 * is not answered "unavailable" while AuthService is still being asked. Past it the client gets
 * 503 and its retry reattaches to the same Update (stable id per transfer and code).
 */
const CONFIRM_DEADLINE_MS = msToNumber(otpActivityOptions.scheduleToCloseTimeout ?? '30s') + 5_000;

/** Runs a transfer Update, turning its refusals into problems with the workflow's own code. */
async function runUpdate(
  client: Client,
  fallbackCode: TransferUpdateError,
  update: () => Promise<Transfer>,
  deadlineMs = CANCEL_DEADLINE_MS,
): Promise<Transfer> {
  try {
    return await client.withDeadline(Date.now() + deadlineMs, update);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const code = applicationFailureType(err) ?? fallbackCode;
      throw new ProblemError(
        domainStatus(code) ?? 409,
        code,
        updateDetail(code),
        applicationFailureDetails(err),
      );
    }
    if (isClosedWorkflowError(err)) {
      throw new ProblemError(409, 'transfer_finalized', 'the transfer has already finished');
    }
    // Still running at the deadline: the Update goes on; a retry with the same id reattaches.
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) {
      throw orchestratorBusy();
    }
    throw err;
  }
}

export interface TransferUpdates {
  /** The step-up code: the transfer moving on, or the workflow's refusal as a problem. */
  confirm(handle: WorkflowHandle, code: string): Promise<Transfer>;
  /** Cancels a transfer; a finished one answers as it ended (a completed one refuses). */
  cancel(handle: WorkflowHandle, description: ExecutionView): Promise<Transfer>;
}

export function createTransferUpdates(deps: Pick<Orchestrator, 'temporal' | 'inputKey'>): TransferUpdates {
  const { temporal, inputKey } = deps;
  return {
    async confirm(handle, code) {
      // One Update per (transfer, code): a retried confirm — the answer lost, or the same code
      // sent again — reattaches to the first one and gets its answer, even after the transfer
      // closed; a wrong code retried does not count twice. A new code on a closed transfer is
      // refused.
      const updateId = deriveUpdateId(inputKey, 'confirm', handle.workflowId, code);
      return runUpdate(
        temporal,
        'not_awaiting_confirmation',
        () => handle.executeUpdate(confirmOtp, { args: [{ code }], updateId }),
        CONFIRM_DEADLINE_MS,
      ).catch((err: unknown) => {
        if (err instanceof ProblemError && err.problem.code === 'transfer_finalized') {
          throw new ProblemError(409, 'not_awaiting_confirmation', UPDATE_DETAIL.not_awaiting_confirmation);
        }
        throw err;
      });
    },

    async cancel(handle, description) {
      if (description.status.name !== 'RUNNING') {
        // A finished transfer: cancelling a cancelled (or failed) one again is a no-op that
        // answers with it; a completed one moved the money and cannot be cancelled.
        const finished = await readTransfer(temporal, handle, description, 3000);
        if (finished.status === 'completed') {
          throw new ProblemError(409, 'cannot_cancel', UPDATE_DETAIL.cannot_cancel);
        }
        return finished;
      }
      return runUpdate(temporal, 'cannot_cancel', () => handle.executeUpdate(cancelTransfer));
    },
  };
}
