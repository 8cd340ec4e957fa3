import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, type SearchAttributePair } from '@temporalio/common';
import { ProblemError } from '../../lib/problem.js';

const KEY = /^[\x21-\x7e]{1,255}$/;

/** Reads the required `Idempotency-Key` header: 400 when missing or malformed. */
export function requireIdempotencyKey(c: Context): string {
  const key = c.req.header('idempotency-key');
  if (key === undefined || key.trim() === '') {
    throw new ProblemError(
      400,
      'idempotency_key_required',
      'the Idempotency-Key header is required for this request',
    );
  }
  if (!KEY.test(key)) {
    throw new ProblemError(
      400,
      'invalid_idempotency_key',
      'Idempotency-Key must be 1-255 visible ASCII characters',
    );
  }
  return key;
}

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

export interface IdempotentStartOptions {
  /** Deadline of the start + describe round trips. */
  rpcTimeoutMs: number;
  taskQueue: string;
  workflowType: string;
  workflowId: string;
  args: unknown[];
  requestHash: string;
  memo: Record<string, unknown>;
  typedSearchAttributes?: SearchAttributePair[];
  /** Shown in the Temporal Web UI. */
  staticSummary?: string;
  staticDetails?: string;
}

export interface StartedWorkflow {
  handle: WorkflowHandle;
  description: WorkflowExecutionDescription;
}

/**
 * Starts a workflow once per id. A running duplicate attaches (USE_EXISTING) and a finished
 * one is found again (REJECT_DUPLICATE), so twenty concurrent identical requests make one
 * workflow. The request hash kept in the memo tells a true replay from a key reused with a
 * different body (422 `idempotency_key_mismatch`).
 */
export async function startIdempotent(
  client: Client,
  options: IdempotentStartOptions,
): Promise<StartedWorkflow> {
  return withinDeadline(client, options.rpcTimeoutMs, () => startAndCompare(client, options));
}

async function startAndCompare(client: Client, options: IdempotentStartOptions): Promise<StartedWorkflow> {
  let handle: WorkflowHandle;
  try {
    handle = await client.workflow.start(options.workflowType, {
      taskQueue: options.taskQueue,
      workflowId: options.workflowId,
      args: options.args,
      memo: { ...options.memo, request_hash: options.requestHash },
      typedSearchAttributes: options.typedSearchAttributes,
      staticSummary: options.staticSummary,
      staticDetails: options.staticDetails,
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    handle = client.workflow.getHandle(options.workflowId);
  }
  const description = await handle.describe();
  if (description.type !== options.workflowType || description.memo?.request_hash !== options.requestHash) {
    throw new ProblemError(
      422,
      'idempotency_key_mismatch',
      'this Idempotency-Key was already used with a different request body',
    );
  }
  return { handle, description };
}
