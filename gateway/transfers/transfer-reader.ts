import type { Client, WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import { searchAttributes } from '../../temporal-config/index.js';
import {
  getTransfer,
  transferWorkflowId,
  TERMINAL_STATUSES,
  type Transfer,
  type TransferFailureCode,
  type TransferStatus,
} from '../../workflows/transfer-contract.js';
import { isAdmin } from '../platform/authn.js';
import { failureCode } from './public-transfer.js';

export const TRANSFER_WORKFLOW = 'transferWorkflow';

export function isTerminal(t: Transfer): boolean {
  return TERMINAL_STATUSES.includes(t.status);
}

/** What visibility and describe both know about an execution (describe adds, list omits, the raw rest). */
export type ExecutionView = Pick<
  WorkflowExecutionInfo,
  'type' | 'workflowId' | 'status' | 'memo' | 'typedSearchAttributes' | 'startTime' | 'closeTime'
>;

const notFound = () => new ProblemError(404, 'transfer_not_found', 'no such transfer');

/** The user who started a transfer: its `InitiatedBy` search attribute, set from the first moment. */
function initiator(info: ExecutionView): string | undefined {
  return info.typedSearchAttributes.get(searchAttributes.InitiatedBy);
}

/**
 * Finds a transfer workflow the principal may see: its initiator, or an admin. Anything else —
 * unknown id, another user's transfer, another workflow type — is the same 404.
 */
export async function describeOwnedTransfer(
  client: Client,
  transferId: string,
  principal: Principal,
  access: 'read' | 'act',
): Promise<{ handle: WorkflowHandle; description: ExecutionView }> {
  const handle = client.workflow.getHandle(transferWorkflowId(transferId));
  let description: ExecutionView;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound();
    throw err;
  }
  if (description.type !== TRANSFER_WORKFLOW) throw notFound();
  const own = !principal.isService && initiator(description) === principal.subject;
  if (own || (access === 'read' && isAdmin(principal))) return { handle, description };
  throw notFound();
}

/** Asks the workflow for its `Transfer`; undefined when no answer comes within `ms`. */
export async function queryTransfer(
  client: Client,
  handle: WorkflowHandle,
  ms: number,
): Promise<Transfer | undefined> {
  try {
    return await client.withDeadline(Date.now() + ms, () => handle.query(getTransfer));
  } catch {
    return undefined;
  }
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
const ENDED_FROM_OUTSIDE = {
  TERMINATED: { code: 'terminated', visibility: 'Terminated' },
  TIMED_OUT: { code: 'timed_out', visibility: 'TimedOut' },
} as const satisfies Record<string, { code: TransferFailureCode; visibility: string }>;

const OUTSIDE_STATUSES = Object.values(ENDED_FROM_OUTSIDE)
  .map((s) => `'${s.visibility}'`)
  .join(', ');

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

/**
 * The visibility clause of a status filter on transfer lists, agreeing with
 * `settledByExecution`: `failed` includes runs stopped from outside, every other status
 * excludes them (their `TransferStatus` attribute is stale).
 */
export function transferStatusClause(status: TransferStatus): string {
  const attr = searchAttributes.TransferStatus.name;
  return status === 'failed'
    ? `(${attr} = 'failed' OR ExecutionStatus IN (${OUTSIDE_STATUSES}))`
    : `${attr} = '${status}' AND ExecutionStatus NOT IN (${OUTSIDE_STATUSES})`;
}

/**
 * The transfer as visibility knows it, without asking a worker: status, wallets, amount,
 * currency and failure code from the search attributes, the description from the memo written
 * at start, `created_at` from the start time. Steps live only in the workflow, so they are empty
 * here (full steps on `GET /v1/transfers/:id`). Serves transfer lists in one visibility call,
 * and single reads while no worker answers.
 */
export function transferFromExecution(info: ExecutionView): Transfer {
  const attrs = info.typedSearchAttributes;
  const memo = info.memo as { description?: unknown; transfer_id?: unknown } | undefined;
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
      created_at: info.startTime.toISOString(),
      ...(info.closeTime ? { completed_at: info.closeTime.toISOString() } : {}),
    },
    info,
  );
}

/**
 * The live view if a worker answers within `ms`, otherwise the visibility view; either one
 * settled by how the execution ended (a terminated run still answers its last state).
 */
export async function readTransfer(
  client: Client,
  handle: WorkflowHandle,
  description: ExecutionView,
  ms: number,
): Promise<Transfer> {
  const live = await queryTransfer(client, handle, ms);
  return live ? settledByExecution(live, description) : transferFromExecution(description);
}

/** `Prefer: wait=N` in seconds, capped at 30; 0 when absent or malformed. */
export function preferWaitSeconds(header: string | undefined): number {
  const match = header ? /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/i.exec(header) : null;
  return match?.[1] ? Math.min(30, Number(match[1])) : 0;
}
