import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import { searchAttributes } from '../../temporal-config/index.js';
import {
  ENDED_FROM_OUTSIDE,
  initiator,
  settledByExecution,
  transferFromExecution,
  type ExecutionView,
} from '../../activities/transfer-archive-view.js';
import {
  getTransfer,
  transferWorkflowId,
  TERMINAL_STATUSES,
  TRANSFER_WORKFLOW_TYPE,
  type Transfer,
  type TransferStatus,
} from '../../workflows/transfer-contract.js';
import { isAdmin } from '../http/authn.js';

export function isTerminal(t: Transfer): boolean {
  return TERMINAL_STATUSES.includes(t.status);
}

const notFound = () => new ProblemError(404, 'transfer_not_found', 'no such transfer');

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
  if (description.type !== TRANSFER_WORKFLOW_TYPE) throw notFound();
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

const OUTSIDE_STATUSES = Object.values(ENDED_FROM_OUTSIDE)
  .map((s) => `'${s.visibility}'`)
  .join(', ');

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
