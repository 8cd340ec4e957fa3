import { createRoute, z } from '@hono/zod-openapi';
import { WorkflowFailedError, isGrpcDeadlineError } from '@temporalio/client';
import { ProblemError } from '../../lib/problem.js';
import { authenticate, mayDeposit } from '../platform/authn.js';
import { applicationFailureType, DOMAIN_STATUS } from '../platform/errors.js';
import { rateLimit } from '../platform/rate-limit.js';
import { DepositBody, IdempotencyKeyHeader, problemResponses, resourceId } from '../openapi/schemas.js';
import { bearerSecurity, createRouter } from '../openapi/router.js';
import { deriveId, requestHash, requireIdempotencyKey, startIdempotent } from '../temporal/idempotency.js';
import type { GatewayDeps } from '../gateway-deps.js';

export const DEPOSIT_WORKFLOW = 'depositWorkflow';

const DepositResult = z
  .object({ deposit_id: z.string(), status: z.enum(['completed', 'processing']) })
  .catchall(z.unknown())
  .openapi('DepositResult');

const deposit = createRoute({
  method: 'post',
  path: '/wallets/{wallet_id}/deposits',
  tags: ['Admin'],
  summary: 'Credit a wallet from the funding system account (admin role or service scope)',
  security: bearerSecurity,
  request: {
    params: z.object({ wallet_id: resourceId.openapi({ param: { name: 'wallet_id', in: 'path' } }) }),
    headers: IdempotencyKeyHeader,
    body: { required: true, content: { 'application/json': { schema: DepositBody } } },
  },
  responses: {
    201: {
      description: 'credited (the wallet service answer, plus deposit_id)',
      content: { 'application/json': { schema: DepositResult } },
    },
    202: {
      description: 'accepted, still running',
      content: { 'application/json': { schema: DepositResult } },
    },
    ...problemResponses(400, 401, 403, 404, 409, 422, 429, 503),
  },
});

/** `/v1/admin`: operator routes. A deposit is a `depositWorkflow`, idempotent per (principal, key). */
export function createAdminRoutes(deps: GatewayDeps) {
  const app = createRouter();
  app.use('*', authenticate(deps.verifyToken, deps.isRevoked));
  app.use(
    '*',
    rateLimit(deps.rateLimiter, 'user', (c) => c.var.principal.subject),
  );
  app.use('*', async (c, next) => {
    if (!mayDeposit(c.var.principal)) {
      throw new ProblemError(
        403,
        'forbidden',
        'this route requires the admin role or a deposit service scope',
      );
    }
    await next();
  });

  app.openapi(deposit, async (c) => {
    const principal = c.var.principal;
    const key = requireIdempotencyKey(c);
    const { wallet_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const depositId = deriveId('deposit', principal.subject, key);
    const amount = body.amount.toString();
    const hash = requestHash({ wallet_id, amount, currency: body.currency, reference: body.reference });
    const { handle } = await startIdempotent(deps.temporal, {
      rpcTimeoutMs: deps.config.TEMPORAL_RPC_TIMEOUT_MS,
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      workflowType: DEPOSIT_WORKFLOW,
      workflowId: `deposit-${depositId}`,
      args: [
        {
          wallet_id,
          amount,
          currency: body.currency,
          reference: body.reference,
          requested_by: principal.subject,
        },
      ],
      requestHash: hash,
      memo: { requested_by: principal.subject, request_id: c.var.requestId, traceparent: c.var.traceparent },
    });
    try {
      const result = await deps.temporal.withDeadline(
        Date.now() + deps.config.WORKFLOW_WAIT_MS,
        () => handle.result() as Promise<unknown>,
      );
      const extra = result && typeof result === 'object' ? (result as Record<string, unknown>) : {};
      return c.json({ ...extra, deposit_id: depositId, status: 'completed' as const }, 201);
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const code = applicationFailureType(err) ?? 'deposit_failed';
        throw new ProblemError(DOMAIN_STATUS[code] ?? 422, code, 'the deposit was refused');
      }
      if (isGrpcDeadlineError(err))
        return c.json({ deposit_id: depositId, status: 'processing' as const }, 202);
      throw err;
    }
  });

  return app;
}
