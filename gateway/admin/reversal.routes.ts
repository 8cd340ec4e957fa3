import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { isGrpcDeadlineError, WorkflowNotFoundError } from '@temporalio/client';
import { ProblemError } from '../../lib/problem.js';
import { signWorkflowInput, workflowInputKey } from '../../lib/workflow-input-signature.js';
import { searchAttributes } from '../../temporal-config/index.js';
import {
  reversalStartOptions,
  type Reversal,
  type ReversalInput,
} from '../../workflows/reversal-contract.js';
import { transferWorkflowId } from '../../workflows/transfer-contract.js';
import { IdempotencyKeyHeader, problemCodes, problemResponses, resourceId } from '../openapi/schemas.js';
import { bearerSecurity } from '../openapi/router.js';
import type { GatewayEnv } from '../platform/request-context.js';
import { requestHash, requireIdempotencyKey, startOnce, withinDeadline } from '../temporal/idempotency.js';
import type { GatewayDeps } from '../gateway-deps.js';

export const REVERSAL_WORKFLOW = 'reversalWorkflow';

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
    'Starts `reversalWorkflow`, one per transfer whoever asks and with whatever key: a repeat with the same body answers the same reversal, another body → `409 reversal_exists`. The answer is the reversal as it stands after a short wait (`status` `completed` or `failed` with `failure_code` when it finished, else `pending`/`processing`). Fails with `reversal_insufficient_funds` when the destination no longer holds the amount, unless `allow_partial`.',
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

/**
 * `POST /v1/admin/transfers/:transfer_id/reversal`: only a completed transfer is reversed (its
 * workflow says so); the input is signed, so the worker moves only what the gateway asked for.
 */
export function registerReversalRoutes(app: OpenAPIHono<GatewayEnv>, deps: GatewayDeps): void {
  const rpcMs = deps.config.TEMPORAL_RPC_TIMEOUT_MS;
  const inputKey = workflowInputKey(deps.config.WORKFLOW_INPUT_KEY);

  app.openapi(reversalRoute, async (c) => {
    requireIdempotencyKey(c);
    const principal = c.var.principal;
    const { transfer_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const input: ReversalInput = {
      transfer_id,
      reason: body.reason,
      allow_partial: body.allow_partial ?? false,
      requested_by: principal.subject,
      created_at: new Date().toISOString(),
    };
    const hash = requestHash({ transfer_id, reason: input.reason, allow_partial: input.allow_partial });
    const options = reversalStartOptions(signWorkflowInput(input, inputKey));
    const existing = deps.temporal.workflow.getHandle(options.workflowId);
    const known = await withinDeadline(deps.temporal, rpcMs, () => existing.describe()).catch(
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      },
    );
    if (known === undefined) await requireCompletedTransfer(deps, transfer_id, rpcMs);
    const { handle, started } = await startOnce(
      deps.temporal,
      REVERSAL_WORKFLOW,
      { ...options, taskQueue: deps.config.TEMPORAL_TASK_QUEUE, memo: { request_hash: hash } },
      rpcMs,
    );
    if (!started) {
      const description = known ?? (await withinDeadline(deps.temporal, rpcMs, () => handle.describe()));
      if (description.type !== REVERSAL_WORKFLOW || description.memo?.request_hash !== hash) {
        throw new ProblemError(
          409,
          'reversal_exists',
          'this transfer already has a reversal with another reason or option',
        );
      }
    }
    let view: Reversal = { ...input, id: options.workflowId, status: 'pending' };
    try {
      view = await deps.temporal.withDeadline(
        Date.now() + deps.config.WORKFLOW_WAIT_MS,
        () => handle.result() as Promise<Reversal>,
      );
    } catch (err) {
      if (!isGrpcDeadlineError(err)) throw err;
    }
    return c.json(view, 202);
  });
}

/** 404 when there is no such transfer, 409 unless it completed (only moved money is moved back). */
async function requireCompletedTransfer(deps: GatewayDeps, transferId: string, rpcMs: number) {
  const handle = deps.temporal.workflow.getHandle(transferWorkflowId(transferId));
  const description = await withinDeadline(deps.temporal, rpcMs, () => handle.describe()).catch(
    (err: unknown) => {
      if (err instanceof WorkflowNotFoundError)
        throw new ProblemError(404, 'transfer_not_found', 'no such transfer');
      throw err;
    },
  );
  if (description.typedSearchAttributes.get(searchAttributes.TransferStatus) !== 'completed') {
    throw new ProblemError(409, 'transfer_not_completed', 'only a completed transfer can be reversed');
  }
}
