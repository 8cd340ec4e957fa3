import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import { searchAttributes } from '../../temporal-config/index.js';
import {
  getTransfer,
  transferWorkflowId,
  TERMINAL_STATUSES,
  type Transfer,
  type TransferStatus,
} from '../../workflows/transfer-contract.js';
import { isAdmin } from '../platform/authn.js';

export const TRANSFER_WORKFLOW = 'transferWorkflow';

/** What the gateway stores in a transfer workflow's memo at start. */
export interface TransferMemo {
  request_hash: string;
  initiated_by: string;
  transfer: Omit<Transfer, 'status' | 'steps'>;
  request_id: string;
  traceparent: string;
}

/** Statuses a waiting client should be answered at: final, or waiting for the client itself. */
const SETTLED: ReadonlySet<TransferStatus> = new Set([
  ...TERMINAL_STATUSES,
  'awaiting_confirmation',
  'needs_attention',
]);

export function isSettled(t: Transfer): boolean {
  return SETTLED.has(t.status);
}

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
): Promise<{ handle: WorkflowHandle; description: WorkflowExecutionDescription }> {
  const handle = client.workflow.getHandle(transferWorkflowId(transferId));
  let description: WorkflowExecutionDescription;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw notFound();
    throw err;
  }
  if (description.type !== TRANSFER_WORKFLOW) throw notFound();
  const memo = description.memo as Partial<TransferMemo> | undefined;
  const own = !principal.isService && memo?.initiated_by === principal.subject;
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

/**
 * The transfer as visibility knows it (memo written at start + the status search attribute),
 * for when no worker can answer the query in time. Steps are unknown there.
 */
export function transferFromDescription(description: WorkflowExecutionDescription): Transfer {
  const memo = description.memo as Partial<TransferMemo> | undefined;
  const base = memo?.transfer;
  const searched = description.typedSearchAttributes.get(searchAttributes.TransferStatus) as
    TransferStatus | undefined;
  const byExecution: Record<string, TransferStatus> = {
    RUNNING: 'processing',
    COMPLETED: 'completed',
    FAILED: 'failed',
    CANCELLED: 'cancelled',
    TERMINATED: 'failed',
    TIMED_OUT: 'failed',
  };
  return {
    id: base?.id ?? description.workflowId.replace(/^transfer-/, ''),
    status: searched ?? byExecution[description.status.name] ?? 'pending',
    from_wallet_id: base?.from_wallet_id ?? '',
    to_wallet_id: base?.to_wallet_id ?? '',
    amount: base?.amount ?? '',
    currency: base?.currency ?? '',
    description: base?.description ?? '',
    steps: [],
    created_at: base?.created_at ?? description.startTime.toISOString(),
    ...(description.closeTime ? { completed_at: description.closeTime.toISOString() } : {}),
  };
}

/** The live view if a worker answers within `ms`, otherwise the visibility view. */
export async function readTransfer(
  client: Client,
  handle: WorkflowHandle,
  description: WorkflowExecutionDescription,
  ms: number,
): Promise<Transfer> {
  return (await queryTransfer(client, handle, ms)) ?? transferFromDescription(description);
}

/**
 * Polls the workflow until the transfer settles or `waitMs` passes (Prefer: wait). Polling
 * the query, rather than waiting on the result, also stops at `awaiting_confirmation`.
 */
export async function waitForSettled(
  client: Client,
  handle: WorkflowHandle,
  waitMs: number,
): Promise<Transfer | undefined> {
  const deadline = Date.now() + waitMs;
  let delay = 50;
  let last: Transfer | undefined;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return last;
    last = (await queryTransfer(client, handle, Math.min(remaining, 2000))) ?? last;
    if (last && isSettled(last)) return last;
    const pause = Math.min(delay, deadline - Date.now());
    if (pause <= 0) return last;
    await sleep(pause);
    delay = Math.min(delay * 2, 500);
  }
}

/** `Prefer: wait=N` in seconds, capped at 30; 0 when absent or malformed. */
export function preferWaitSeconds(header: string | undefined): number {
  const match = header ? /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/i.exec(header) : null;
  return match?.[1] ? Math.min(30, Number(match[1])) : 0;
}
