/**
 * Starting a transfer: the signed workflow input built from the request, and the start itself —
 * once per Idempotency-Key, with or without `Prefer: wait` — answering the transfer's view.
 */
import {
  WithStartWorkflowOperation,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  type WorkflowHandle,
} from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type { Principal } from '../../lib/jwt-verifier.js';
import { signWorkflowInput } from '../../lib/workflow-input-signature.js';
import {
  TRANSFER_WORKFLOW_TYPE,
  transferStartOptions,
  waitForTransfer,
  type Transfer,
  type TransferInput,
} from '../../workflows/transfer-contract.js';
import { transferWorkflow } from '../../workflows/transfer-workflow.js';
import { requestHash, startOnce, withinDeadline } from '../temporal/idempotency.js';
import type { Orchestrator } from '../temporal/orchestrator.js';
import { idempotencyKeyMismatch, orchestratorBusy } from '../temporal/workflow-problems.js';
import { transferFromExecution } from '../../activities/transfer-archive-view.js';
import { queryTransfer } from './transfer-reader.js';

/** The fields of a create request; `Idempotency-Key` replays must carry the same ones. */
export type TransferRequest = Pick<
  Transfer,
  'from_wallet_id' | 'to_wallet_id' | 'amount' | 'currency' | 'description'
>;

/** Who asked, as the transfer's audit records keep it. */
export interface TransferCaller {
  principal: Principal;
  clientIp: string;
  userAgent: string | undefined;
}

/** Correlation ids of the request, kept in the memo for operators. */
export interface RequestTrace {
  request_id: string;
  traceparent: string;
}

/**
 * The workflow input of a transfer, signed last over every other field: the workers move only
 * what the gateway asked for, for whom it asked.
 */
function signedTransferInput(
  transferId: string,
  request: TransferRequest,
  caller: TransferCaller,
  inputKey: Uint8Array,
): TransferInput {
  return signWorkflowInput(
    {
      transfer_id: transferId,
      ...request,
      initiated_by: {
        user_id: caller.principal.subject,
        client_id: caller.principal.clientId,
        token_jti: caller.principal.tokenId,
        ip: caller.clientIp,
        user_agent: (caller.userAgent ?? '').slice(0, 256),
      },
      request_hash: requestHash(request),
      created_at: new Date().toISOString(),
    },
    inputKey,
  );
}

/**
 * True when an existing transfer is the one this request asks for. The view carries every field
 * the request hash covers, so a replay is recognised from the answer itself, without a describe.
 */
function sameRequest(t: Transfer, request: TransferRequest): boolean {
  return (
    t.from_wallet_id === request.from_wallet_id &&
    t.to_wallet_id === request.to_wallet_id &&
    t.amount === request.amount &&
    t.currency === request.currency &&
    t.description === request.description
  );
}

/** A transfer this call just started: nothing has run yet, so the input is the whole view. */
function startedView(input: TransferInput): Transfer {
  return {
    id: input.transfer_id,
    status: 'pending',
    from_wallet_id: input.from_wallet_id,
    to_wallet_id: input.to_wallet_id,
    amount: input.amount,
    currency: input.currency,
    description: input.description,
    steps: [],
    created_at: input.created_at,
  };
}

export type TransferStarterDeps = Pick<Orchestrator, 'temporal' | 'taskQueue' | 'rpcMs' | 'inputKey'>;

/** What one create request asks for. */
export interface StartTransferRequest {
  /** Derived from the caller and their Idempotency-Key: one transfer per key. */
  transferId: string;
  request: TransferRequest;
  caller: TransferCaller;
  trace: RequestTrace;
  /** `Prefer: wait` in milliseconds; 0 answers right after the start. */
  waitMs: number;
}

/** Starts a transfer (or finds the one its key started) and answers its view. */
export type StartTransfer = (asked: StartTransferRequest) => Promise<Transfer>;

export function createTransferStarter(deps: TransferStarterDeps): StartTransfer {
  const { temporal, taskQueue, rpcMs, inputKey } = deps;
  /**
   * The contract's start options; the gateway adds its task queue and, to the memo written once
   * at start, the request's correlation ids and `created_at` (so a list item read from
   * visibility has the same position as the same transfer's record later; transfer-records.ts).
   */
  const startOptions = (input: TransferInput, trace: RequestTrace) => {
    const options = transferStartOptions(input);
    return {
      ...options,
      taskQueue,
      memo: { ...options.memo, created_at: input.created_at, ...trace },
    };
  };
  type StartOptions = ReturnType<typeof startOptions>;

  /**
   * An Idempotency-Key replay whose transfer already exists: the existing transfer if it is the
   * same request — a closed one answers its result, a running one its current view.
   */
  async function replayed(handle: WorkflowHandle<typeof transferWorkflow>, request: TransferRequest) {
    let description;
    try {
      description = await withinDeadline(temporal, rpcMs, () => handle.describe());
    } catch (err) {
      // Started moments ago by a call whose answer was lost: not visible yet, retry later.
      if (err instanceof WorkflowNotFoundError) throw orchestratorBusy();
      throw err;
    }
    if (description.type !== TRANSFER_WORKFLOW_TYPE) throw idempotencyKeyMismatch();
    let transfer: Transfer | undefined;
    if (description.status.name === 'RUNNING') {
      transfer = await queryTransfer(temporal, handle, 2000);
    } else {
      transfer = await withinDeadline(temporal, rpcMs, () => handle.result()).catch(() => undefined);
    }
    transfer ??= transferFromExecution(description);
    if (!sameRequest(transfer, request)) throw idempotencyKeyMismatch();
    return transfer;
  }

  /** Without `Prefer: wait`: one start call; only a replay costs more. */
  async function start(input: TransferInput, options: StartOptions, request: TransferRequest) {
    const { handle, started } = await startOnce(temporal, transferWorkflow, options, rpcMs);
    return started ? startedView(input) : await replayed(handle, request);
  }

  /**
   * `Prefer: wait`: Update-with-Start. One call starts the transfer (or attaches to the running
   * one with this id) and waits, inside Temporal, for `waitForTransfer` to answer — no polling.
   * At the deadline, one query (or describe) gives the current view.
   */
  async function startAndWait(
    input: TransferInput,
    options: StartOptions,
    request: TransferRequest,
    waitMs: number,
  ): Promise<Transfer> {
    const handle = temporal.workflow.getHandle<typeof transferWorkflow>(options.workflowId);
    let transfer: Transfer;
    try {
      transfer = await temporal.withDeadline(Date.now() + waitMs, () =>
        temporal.workflow.executeUpdateWithStart(waitForTransfer, {
          startWorkflowOperation: new WithStartWorkflowOperation(transferWorkflow, {
            ...options,
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        }),
      );
    } catch (err) {
      // The id belongs to a closed transfer (never run twice), or it closed while we asked.
      if (
        err instanceof WorkflowExecutionAlreadyStartedError ||
        err instanceof WorkflowNotFoundError ||
        err instanceof WorkflowUpdateFailedError
      ) {
        return replayed(handle, request);
      }
      if (!(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err))) throw err;
      // Still running at the deadline: answer 202 with where it stands.
      const live = await queryTransfer(temporal, handle, 1000);
      if (live) {
        if (!sameRequest(live, request)) throw idempotencyKeyMismatch();
        return live;
      }
      // No worker answered, or the wait ran out before the start was even recorded (a busy
      // cluster): a plain start either starts it now or finds it and reads it from visibility.
      return start(input, options, request);
    }
    if (!sameRequest(transfer, request)) throw idempotencyKeyMismatch();
    return transfer;
  }

  return ({ transferId, request, caller, trace, waitMs }) => {
    const input = signedTransferInput(transferId, request, caller, inputKey);
    const options = startOptions(input, trace);
    return waitMs > 0 ? startAndWait(input, options, request, waitMs) : start(input, options, request);
  };
}
