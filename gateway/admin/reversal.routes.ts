import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import {
  isGrpcDeadlineError,
  WorkflowNotFoundError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowHandle,
} from '@temporalio/client';
import { requireIdempotencyKey } from '../../lib/idempotency-key.js';
import { ProblemError } from '../../lib/problem.js';
import { signWorkflowInput } from '../../lib/workflow-input-signature.js';
import { searchAttributes } from '../../temporal-config/index.js';
import {
  REVERSAL_WORKFLOW_TYPE,
  reversalStartOptions,
  reversalWorkflowId,
  type Reversal,
  type ReversalInput,
} from '../../workflows/reversal-contract.js';
import { reversalWorkflow } from '../../workflows/reversal-workflow.js';
import { transferWorkflowId } from '../../workflows/transfer-contract.js';
import { IdempotencyKeyHeader, problemCodes, problemResponses, resourceId } from '../openapi/schemas.js';
import { bearerSecurity } from '../openapi/router.js';
import type { GatewayEnv } from '../http/request-context.js';
import { deriveId, requestHash, startOnce, withinDeadline } from '../temporal/idempotency.js';
import type { Orchestrator } from '../temporal/orchestrator.js';

const ReversalBody = z
  .strictObject({
    reason: z.string().trim().min(1).max(500).openapi({ example: 'paid the wrong person (ticket 77)' }),
    allow_partial: z.boolean().optional().openapi({
      description: 'move back what the destination still has when it no longer holds the whole amount',
    }),
  })
  .openapi('ReversalRequest');

const ReversalSchema = z
  .object({
    id: z.string(),
    transfer_id: z.string(),
    attempt: z
      .number()
      .int()
      .openapi({ description: '1, or n after n − 1 refused reversals of the transfer' }),
    status: z.string(),
    amount: z.string().optional(),
    reason: z.string(),
    failure_code: z.string().optional(),
  })
  .catchall(z.unknown())
  .openapi('Reversal');

const reversalRoute = createRoute({
  method: 'post',
  path: '/transfers/{transfer_id}/reversal',
  tags: ['Admin'],
  summary: 'Reverse a completed transfer: move its amount back from the destination to the source (admin)',
  description:
    'Starts `reversalWorkflow`: one reversal per transfer whoever asks — a repeat with the same body answers the same reversal, another body → `409 reversal_exists`. The answer is the reversal as it stands after a short wait (`status` `completed` or `failed` with `failure_code` when it finished, else `pending`/`processing`). Fails with `reversal_insufficient_funds` when the destination no longer holds the amount, unless `allow_partial`. A reversal that ended `failed` moved nothing and can be asked again: a request with an `Idempotency-Key` no attempt of this transfer was started with starts the next attempt (`attempt` 2, 3, …; any reason and `allow_partial`); a key that started one answers that attempt. The money moves back at most once.',
  security: bearerSecurity,
  request: {
    params: z.object({ transfer_id: resourceId.openapi({ param: { name: 'transfer_id', in: 'path' } }) }),
    headers: IdempotencyKeyHeader,
    body: { required: true, content: { 'application/json': { schema: ReversalBody } } },
  },
  responses: {
    202: { description: 'the reversal', content: { 'application/json': { schema: ReversalSchema } } },
    ...problemResponses(400, 401, 403, 429, 503),
    ...problemCodes({ 404: ['transfer_not_found'], 409: ['transfer_not_completed', 'reversal_exists'] }),
  },
});

/** One attempt at reversing a transfer, as Temporal describes its workflow. */
interface ReversalAttempt {
  attempt: number;
  handle: WorkflowHandle<typeof reversalWorkflow>;
  description: WorkflowExecutionDescription;
}

/**
 * `POST /v1/admin/transfers/:transfer_id/reversal`: only a completed transfer is reversed (its
 * workflow says so); the input is signed, so the worker moves only what the gateway asked for.
 * Each attempt is its own workflow (`reversalWorkflowId`); the next one starts only after the
 * last ended `failed` and only for a key no attempt was started with.
 */
export function registerReversalRoutes(app: OpenAPIHono<GatewayEnv>, orchestrator: Orchestrator): void {
  const { temporal, taskQueue, rpcMs, waitMs, inputKey } = orchestrator;

  app.openapi(reversalRoute, async (c) => {
    const key = requireIdempotencyKey(c);
    const principal = c.var.principal;
    const { transfer_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const hash = requestHash({
      transfer_id,
      reason: body.reason,
      allow_partial: body.allow_partial ?? false,
    });
    // Kept in each attempt's memo: the request that started it, without the key itself.
    const requestKey = deriveId('reversal-request', principal.subject, key);
    const attempts = await reversalAttempts(temporal, transfer_id, rpcMs);
    const last = attempts.at(-1);
    const sameRequest = attempts.find((a) => memoOf(a.description).request_key === requestKey);
    const existing =
      sameRequest ?? (last !== undefined && !(await endedRefused(temporal, last, rpcMs)) ? last : undefined);

    let handle: WorkflowHandle<typeof reversalWorkflow>;
    let pending: Reversal;
    if (existing) {
      requireSameBody(existing.description, hash);
      handle = existing.handle;
      pending = pendingView(existing.attempt);
    } else {
      if (last === undefined) await requireCompletedTransfer(temporal, transfer_id, rpcMs);
      const attempt = (last?.attempt ?? 0) + 1;
      const input: ReversalInput = {
        transfer_id,
        reason: body.reason,
        allow_partial: body.allow_partial ?? false,
        requested_by: principal.subject,
        created_at: new Date().toISOString(),
        // Absent on the first attempt: its input is what it was before attempts existed.
        ...(attempt === 1 ? {} : { attempt }),
      };
      const options = reversalStartOptions(signWorkflowInput(input, inputKey));
      const start = await startOnce(
        temporal,
        reversalWorkflow,
        {
          ...options,
          taskQueue,
          memo: { request_hash: hash, request_key: requestKey },
        },
        rpcMs,
      );
      handle = start.handle;
      // Another request started this attempt a moment ago: the same body joins it.
      if (!start.started)
        requireSameBody(await withinDeadline(temporal, rpcMs, () => handle.describe()), hash);
      pending = { ...input, id: options.workflowId, attempt, status: 'pending' };
    }
    let view = pending;
    try {
      const result = await temporal.withDeadline(Date.now() + waitMs, () => handle.result());
      // A reversal that finished before attempts existed has no `attempt` in its result.
      view = { ...result, attempt: result.attempt ?? pending.attempt };
    } catch (err) {
      if (!isGrpcDeadlineError(err)) throw err;
    }
    return c.json(view, 202);

    function pendingView(attempt: number): Reversal {
      return {
        id: reversalWorkflowId(transfer_id, attempt),
        transfer_id,
        attempt,
        status: 'pending',
        reason: body.reason,
        allow_partial: body.allow_partial ?? false,
        requested_by: principal.subject,
        created_at: new Date().toISOString(),
      };
    }
  });
}

function memoOf(description: WorkflowExecutionDescription): {
  request_hash?: unknown;
  request_key?: unknown;
} {
  return description.memo ?? {};
}

/** 409 unless the attempt is a reversal started with this body. */
function requireSameBody(description: WorkflowExecutionDescription, hash: string): void {
  if (description.type !== REVERSAL_WORKFLOW_TYPE || memoOf(description).request_hash !== hash) {
    throw new ProblemError(
      409,
      'reversal_exists',
      'this transfer already has a reversal with another reason or option',
    );
  }
}

/**
 * The transfer's reversal attempts, first to last: each next one exists only after the one
 * before it was refused, so the chain stops at the first id Temporal does not know.
 */
async function reversalAttempts(
  temporal: Client,
  transferId: string,
  rpcMs: number,
): Promise<ReversalAttempt[]> {
  const attempts: ReversalAttempt[] = [];
  for (let attempt = 1; ; attempt += 1) {
    const handle = temporal.workflow.getHandle<typeof reversalWorkflow>(
      reversalWorkflowId(transferId, attempt),
    );
    const description = await withinDeadline(temporal, rpcMs, () => handle.describe()).catch(
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      },
    );
    if (description === undefined) return attempts;
    attempts.push({ attempt, handle, description });
  }
}

/** The attempt closed with its reversal `failed`: nothing moved, so it may be asked again. */
async function endedRefused(temporal: Client, last: ReversalAttempt, rpcMs: number): Promise<boolean> {
  if (last.description.status.name !== 'COMPLETED') return false;
  const result = await withinDeadline(temporal, rpcMs, () => last.handle.result());
  return result.status === 'failed';
}

/** 404 when there is no such transfer, 409 unless it completed (only moved money is moved back). */
async function requireCompletedTransfer(temporal: Client, transferId: string, rpcMs: number) {
  const handle = temporal.workflow.getHandle(transferWorkflowId(transferId));
  const description = await withinDeadline(temporal, rpcMs, () => handle.describe()).catch((err: unknown) => {
    if (err instanceof WorkflowNotFoundError)
      throw new ProblemError(404, 'transfer_not_found', 'no such transfer');
    throw err;
  });
  if (description.typedSearchAttributes.get(searchAttributes.TransferStatus) !== 'completed') {
    throw new ProblemError(409, 'transfer_not_completed', 'only a completed transfer can be reversed');
  }
}
