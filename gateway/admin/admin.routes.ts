import { createRoute, z } from '@hono/zod-openapi';
import { WorkflowFailedError, isGrpcDeadlineError } from '@temporalio/client';
import { requireIdempotencyKey } from '../../lib/idempotency-key.js';
import { ProblemError } from '../../lib/problem.js';
import { signWorkflowInput } from '../../lib/workflow-input-signature.js';
import { LedgerError, ledgerErrorStatus } from '../../wallet/ledger/ledger.errors.js';
import {
  DEPOSIT_WORKFLOW_TYPE,
  depositStartOptions,
  type DepositInput,
} from '../../workflows/deposit-contract.js';
import { depositWorkflow } from '../../workflows/deposit-workflow.js';
import { mayDeposit } from '../http/authn.js';
import { applicationFailureType, domainStatus } from '../http/errors.js';
import type { GatewayMiddleware } from '../http/route-middleware.js';
import type { Upstream } from '../http/upstream.js';
import {
  DepositBody,
  IdempotencyKeyHeader,
  problemCodes,
  problemResponses,
  resourceId,
} from '../openapi/schemas.js';
import { bearerSecurity, createRouter } from '../openapi/router.js';
import { deriveId, requestHash, startOnce, withinDeadline } from '../temporal/idempotency.js';
import type { Orchestrator } from '../temporal/orchestrator.js';
import { registerReversalRoutes } from './reversal.routes.js';
import { registerWalletStatusRoutes } from './wallet-status.routes.js';

/**
 * HTTP status of a deposit workflow's refusal. WalletService's unique (wallet, reference) index
 * answers `duplicate_reference` when a deposit reaches it under another workflow id (one started
 * before ids came from the reference): the same conflict as the gateway's own check.
 */
function depositStatus(code: string): number {
  if (code === String(LedgerError.DuplicateReference)) {
    return ledgerErrorStatus[LedgerError.DuplicateReference];
  }
  return domainStatus(code) ?? 422;
}

const DepositResult = z
  .object({ deposit_id: z.string(), status: z.enum(['completed', 'processing']) })
  .catchall(z.unknown())
  .openapi('DepositResult');

const deposit = createRoute({
  method: 'post',
  path: '/wallets/{wallet_id}/deposits',
  tags: ['Admin'],
  summary: 'Credit a wallet from the funding system account (admin role or service scope)',
  description:
    'One deposit per (wallet, `reference`), whatever the `Idempotency-Key`: a repeat with the same body answers the original deposit; the same reference with another amount or currency → `409 duplicate_reference`. Amounts above 9007199254740991 → `422 amount_too_large`.',
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
    ...problemResponses(400, 401, 403, 404, 429, 503),
    ...problemCodes({
      409: ['duplicate_reference', 'wallet_frozen'],
      422: ['amount_too_large', 'currency_mismatch', 'deposit_failed'],
    }),
  },
});

/**
 * `/v1/admin`: operator routes. A deposit is a `depositWorkflow`, unique per (wallet, reference):
 * a repeat with the same body answers the original, another amount → `409 duplicate_reference`.
 */
export function createAdminRoutes({
  orchestrator,
  wallet,
  signedIn,
}: {
  orchestrator: Orchestrator;
  /** WalletService: freeze, unfreeze and close (wallet-status.routes.ts). */
  wallet: Upstream;
  /** A valid, unrevoked token, then the caller's per-user budget (route-middleware.ts). */
  signedIn: readonly GatewayMiddleware[];
}) {
  const app = createRouter();
  const { temporal, taskQueue, rpcMs, waitMs, inputKey } = orchestrator;
  app.use('*', ...signedIn);
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
    // Still required, so every mutating call looks alike; the deposit's identity is its reference.
    requireIdempotencyKey(c);
    const { wallet_id } = c.req.valid('param');
    const body = c.req.valid('json');
    const amount = body.amount.toString();
    // One deposit per (wallet, reference), whoever asks and with whatever key: a bank transfer
    // reported twice credits once.
    const depositId = deriveId('deposit', wallet_id, body.reference);
    const hash = requestHash({ wallet_id, amount, currency: body.currency, reference: body.reference });
    const input: DepositInput = {
      wallet_id,
      amount,
      currency: body.currency,
      reference: body.reference,
      requested_by: principal.subject,
    };
    // Signed last, over every other field: the worker credits only what the gateway asked for.
    const options = depositStartOptions(signWorkflowInput(input, inputKey));
    const { handle, started } = await startOnce(
      temporal,
      depositWorkflow,
      {
        ...options,
        taskQueue,
        memo: {
          request_hash: hash,
          requested_by: principal.subject,
          request_id: c.var.requestId,
          traceparent: c.var.traceparent,
        },
      },
      rpcMs,
    );
    if (!started) {
      const existing = await withinDeadline(temporal, rpcMs, () => handle.describe());
      // Another amount or currency under a reference already used (or a workflow id that only
      // looks alike) is a conflict, never an answer about some other deposit.
      if (existing.type !== DEPOSIT_WORKFLOW_TYPE || existing.memo?.request_hash !== hash) {
        throw new ProblemError(
          409,
          LedgerError.DuplicateReference,
          'this wallet already has a deposit with this reference and a different amount or currency',
        );
      }
    }
    try {
      const result = await temporal.withDeadline(Date.now() + waitMs, () => handle.result());
      return c.json({ ...result, deposit_id: depositId, status: 'completed' as const }, 201);
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const code = applicationFailureType(err) ?? 'deposit_failed';
        throw new ProblemError(depositStatus(code), code, 'the deposit was refused');
      }
      if (isGrpcDeadlineError(err))
        return c.json({ deposit_id: depositId, status: 'processing' as const }, 202);
      throw err;
    }
  });

  registerWalletStatusRoutes(app, wallet);
  registerReversalRoutes(app, orchestrator);
  return app;
}
