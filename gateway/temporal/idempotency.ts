import { createHash, createHmac } from 'node:crypto';
import type { Client, WorkflowHandle, WorkflowStartOptions } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, type Workflow } from '@temporalio/common';

/**
 * A stable UUID (version 8, RFC 9562) for (purpose, principal, key): the same caller with the
 * same key always lands on the same workflow, and two callers' keys can never collide.
 */
export function deriveId(purpose: string, subject: string, key: string): string {
  const bytes = createHash('sha256')
    .update(`${purpose}\u0000${subject}\u0000${key}`)
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A stable Update id for one request to one workflow: the same (workflow, request) always gets
 * the same id, so a retried call reattaches to the Update already running or answered (Temporal
 * returns its outcome, also after the workflow closed) instead of running it twice. Keyed with a
 * gateway secret, so the id (stored in clear in the history) reveals nothing of the request,
 * which may hold an OTP code.
 */
export function deriveUpdateId(
  secret: Uint8Array,
  name: string,
  workflowId: string,
  request: string,
): string {
  const mac = createHmac('sha256', secret)
    .update(`${name}\u0000${workflowId}\u0000${request}`)
    .digest('base64url');
  return `${name}-${mac}`;
}

/** sha256 of the request body in a canonical form (sorted keys), as hex. */
export function requestHash(body: Record<string, unknown>): string {
  const canonical = JSON.stringify(
    Object.fromEntries(
      Object.keys(body)
        .sort()
        .map((k) => [k, typeof body[k] === 'bigint' ? body[k].toString() : body[k]]),
    ),
  );
  return createHash('sha256').update(canonical).digest('hex');
}

/** Runs Temporal calls under a deadline: an unreachable cluster fails fast instead of retrying for long. */
export function withinDeadline<T>(client: Client, ms: number, fn: () => Promise<T>): Promise<T> {
  return client.withDeadline(Date.now() + ms, fn);
}

export interface StartOnceResult<T extends Workflow> {
  handle: WorkflowHandle<T>;
  /** True when this call created the workflow; false when its id was taken already (running or closed). */
  started: boolean;
}

/**
 * Starts a workflow at most once per id, in one round trip. A duplicate id, running or closed,
 * is never run again (`FAIL` on a running one, `REJECT_DUPLICATE` on a closed one: these two
 * policies are this function's, whatever `options` say) and comes back as `started: false`, so
 * twenty concurrent identical requests make one workflow and the caller compares the existing
 * workflow with its request only on replays. `workflow` is the workflow function itself (its
 * name is the type started), `options` the SDK's own, typed by it.
 */
export async function startOnce<T extends Workflow>(
  client: Client,
  workflow: T,
  options: WorkflowStartOptions<T>,
  rpcTimeoutMs: number,
): Promise<StartOnceResult<T>> {
  try {
    const handle = await withinDeadline(client, rpcTimeoutMs, () =>
      client.workflow.start(workflow, {
        ...options,
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }),
    );
    return { handle, started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle<T>(options.workflowId), started: false };
  }
}
