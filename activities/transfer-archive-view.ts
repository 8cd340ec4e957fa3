/**
 * How a transfer reads from what Temporal itself keeps about its execution — visibility's row
 * (search attributes, memo, start and close time) and the execution status — without asking a
 * worker. Shared by the gateway's reader and the archive sweep, so a transfer reads the same
 * live, from visibility and from its durable record.
 */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { searchAttributes } from '../temporal-config/index.js';
import {
  TRANSFER_FAILURE_CODES,
  type Transfer,
  type TransferFailureCode,
  type TransferStatus,
} from '../workflows/transfer-contract.js';

/** What visibility and describe both know about an execution (describe adds, list omits, the raw rest). */
export type ExecutionView = Pick<
  WorkflowExecutionInfo,
  'type' | 'workflowId' | 'status' | 'memo' | 'typedSearchAttributes' | 'startTime' | 'closeTime'
>;

const FAILURE_CODES: ReadonlySet<string> = new Set(TRANSFER_FAILURE_CODES);

/** A known failure code as it is (e.g. read back from a search attribute), any other as `internal_error`. */
export function failureCode(code: string): TransferFailureCode {
  return FAILURE_CODES.has(code) ? (code as TransferFailureCode) : 'internal_error';
}

const BY_EXECUTION_STATUS: Record<string, TransferStatus> = {
  RUNNING: 'processing',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
};

/**
 * Runs the workflow did not end itself: terminated by an operator, or closed by Temporal at a
 * run/execution timeout. Their search attributes and their last query answer still say
 * whatever the workflow last wrote (`processing`, `needs_attention`…), forever; the execution
 * status is the truth. Visibility spells these statuses `Terminated` / `TimedOut`.
 */
export const ENDED_FROM_OUTSIDE = {
  TERMINATED: { code: 'terminated', visibility: 'Terminated' },
  TIMED_OUT: { code: 'timed_out', visibility: 'TimedOut' },
} as const satisfies Record<string, { code: TransferFailureCode; visibility: string }>;

/**
 * A transfer as its execution ended: a run stopped from outside is `failed` with the code
 * `terminated` or `timed_out` (operators find it with that code; whether it held or moved money
 * is what `npm run ops:terminated-transfers` answers), whatever its last view said.
 */
export function settledByExecution(t: Transfer, info: Pick<ExecutionView, 'status' | 'closeTime'>): Transfer {
  const outside = Object.hasOwn(ENDED_FROM_OUTSIDE, info.status.name)
    ? ENDED_FROM_OUTSIDE[info.status.name as keyof typeof ENDED_FROM_OUTSIDE]
    : undefined;
  if (!outside) return t;
  return {
    ...t,
    status: 'failed',
    failure_code: outside.code,
    ...(info.closeTime ? { completed_at: info.closeTime.toISOString() } : {}),
  };
}

/** The user who started a transfer: its `InitiatedBy` search attribute, set from the first moment. */
export function initiator(info: Pick<ExecutionView, 'typedSearchAttributes'>): string | undefined {
  return info.typedSearchAttributes.get(searchAttributes.InitiatedBy);
}

/**
 * The transfer as visibility knows it, without asking a worker: status, wallets, amount,
 * currency and failure code from the search attributes, the description from the memo written
 * at start, `created_at` from the memo (the start time for older runs). Steps live only in the workflow, so they are empty
 * here (full steps on `GET /v1/transfers/:id`). Serves transfer lists in one visibility call,
 * and single reads while no worker answers.
 */
export function transferFromExecution(info: ExecutionView): Transfer {
  const attrs = info.typedSearchAttributes;
  const memo = info.memo as
    { description?: unknown; transfer_id?: unknown; created_at?: unknown } | undefined;
  const status = attrs.get(searchAttributes.TransferStatus) as TransferStatus | undefined;
  const amount = attrs.get(searchAttributes.TransferAmount);
  const failure = attrs.get(searchAttributes.TransferFailureCode);
  return settledByExecution(
    {
      id:
        typeof memo?.transfer_id === 'string' ? memo.transfer_id : info.workflowId.replace(/^transfer-/, ''),
      status: status ?? BY_EXECUTION_STATUS[info.status.name] ?? 'pending',
      from_wallet_id: attrs.get(searchAttributes.FromWalletId) ?? '',
      to_wallet_id: attrs.get(searchAttributes.ToWalletId) ?? '',
      // Amounts are capped at 2^53 − 1 at the gateway, so the Int attribute is exact.
      amount: amount === undefined ? '' : BigInt(amount).toString(),
      currency: attrs.get(searchAttributes.TransferCurrency) ?? '',
      description: typeof memo?.description === 'string' ? memo.description : '',
      steps: [],
      ...(failure === undefined ? {} : { failure_code: failureCode(failure) }),
      // The request's time, as the workflow's own view says (the gateway's memo); the start
      // time for runs started before the memo carried it.
      created_at: typeof memo?.created_at === 'string' ? memo.created_at : info.startTime.toISOString(),
      ...(info.closeTime ? { completed_at: info.closeTime.toISOString() } : {}),
    },
    info,
  );
}
