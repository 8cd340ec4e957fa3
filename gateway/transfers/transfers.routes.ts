import { createRoute, z } from '@hono/zod-openapi';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowUpdateFailedError, isGrpcServiceError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { ProblemError } from '../../lib/problem.js';
import { searchAttributes } from '../../temporal-config/index.js';
import {
  cancelTransfer,
  confirmOtp,
  transferStartOptions,
  type Transfer,
  type TransferInput,
} from '../../workflows/transfer-contract.js';
import { authenticate, requireUser } from '../platform/authn.js';
import { applicationFailureDetails, applicationFailureType, DOMAIN_STATUS } from '../platform/errors.js';
import { rateLimit } from '../platform/rate-limit.js';
import {
  ConfirmTransferBody,
  CreateTransferBody,
  IdempotencyKeyHeader,
  TRANSFER_STATUSES,
  TransferSchema,
  problemResponses,
  resourceId,
} from '../openapi/schemas.js';
import { bearerSecurity, createRouter } from '../openapi/router.js';
import {
  deriveId,
  requestHash,
  requireIdempotencyKey,
  startIdempotent,
  withinDeadline,
} from '../temporal/idempotency.js';
import type { Principal } from '../../lib/jwt-verifier.js';
import { loadAccessibleWallet } from '../wallets/wallet-access.js';
import type { GatewayDeps } from '../gateway-deps.js';
import {
  describeOwnedTransfer,
  isTerminal,
  preferWaitSeconds,
  queryTransfer,
  readTransfer,
  transferFromDescription,
  waitForSettled,
  TRANSFER_WORKFLOW,
  type TransferMemo,
} from './transfer-reader.js';

const TransferParams = z.object({
  transfer_id: resourceId.openapi({ param: { name: 'transfer_id', in: 'path' } }),
});
const TransferPage = z
  .object({ items: z.array(TransferSchema), next_cursor: z.string().nullable() })
  .openapi('TransferPage');
const transferJson = { 'application/json': { schema: TransferSchema } };

const createTransfer = createRoute({
  method: 'post',
  path: '/',
  tags: ['Transfers'],
  summary: 'Move money from one of your wallets to any wallet',
  description:
    'Requires `Idempotency-Key` (scoped to the caller). `Prefer: wait=N` (N ≤ 30) answers with the settled transfer if it settles in time.',
  security: bearerSecurity,
  request: {
    headers: IdempotencyKeyHeader.extend({ prefer: z.string().optional().openapi({ example: 'wait=10' }) }),
    body: { required: true, content: { 'application/json': { schema: CreateTransferBody } } },
  },
  responses: {
    200: {
      description: 'settled within the wait (or an idempotent replay of a settled transfer)',
      content: transferJson,
    },
    202: { description: 'accepted; poll the Location', content: transferJson },
    ...problemResponses(400, 401, 403, 404, 413, 415, 422, 429, 503),
  },
});

const getTransferRoute = createRoute({
  method: 'get',
  path: '/{transfer_id}',
  tags: ['Transfers'],
  summary: 'One transfer (also after completion)',
  security: bearerSecurity,
  request: { params: TransferParams },
  responses: {
    200: { description: 'transfer', content: transferJson },
    ...problemResponses(400, 401, 404, 429, 503),
  },
});

const listTransfers = createRoute({
  method: 'get',
  path: '/',
  tags: ['Transfers'],
  summary: "The caller's transfers, newest first",
  security: bearerSecurity,
  request: {
    query: z.object({
      status: z.enum(TRANSFER_STATUSES).optional(),
      // Each item is a workflow query (a replay for closed ones): keep pages modest.
      limit: z.coerce.number().int().min(1).max(50).optional(),
      cursor: z
        .string()
        .max(4096)
        .regex(/^[A-Za-z0-9_-]*$/, 'must be a cursor from a previous page')
        .optional(),
    }),
  },
  responses: {
    200: { description: 'page of transfers', content: { 'application/json': { schema: TransferPage } } },
    ...problemResponses(400, 401, 429, 503),
  },
});

const confirmTransfer = createRoute({
  method: 'post',
  path: '/{transfer_id}/confirm',
  tags: ['Transfers'],
  summary: 'Step-up: confirm a large transfer with the OTP code',
  security: bearerSecurity,
  request: {
    params: TransferParams,
    body: { required: true, content: { 'application/json': { schema: ConfirmTransferBody } } },
  },
  responses: {
    200: { description: 'transfer', content: transferJson },
    ...problemResponses(400, 401, 404, 409, 422, 429, 503),
  },
});

const cancelTransferRoute = createRoute({
  method: 'post',
  path: '/{transfer_id}/cancel',
  tags: ['Transfers'],
  summary: 'Cancel a transfer before its funds are captured',
  security: bearerSecurity,
  request: { params: TransferParams },
  responses: {
    200: { description: 'transfer', content: transferJson },
    ...problemResponses(401, 404, 409, 429, 503),
  },
});

/** Client-facing wording for the update refusals listed in transfer-contract.ts. */
const UPDATE_DETAIL: Record<string, string> = {
  validation_failed: 'the code must be exactly 6 digits',
  not_awaiting_confirmation: 'this transfer is not waiting for a code',
  otp_verification_in_progress: 'a code is being checked already',
  otp_invalid: 'wrong code',
  otp_failed: 'too many wrong codes: the transfer was cancelled',
  otp_expired: 'the code expired: the transfer was cancelled',
  upstream_unavailable: 'the code could not be checked right now; try again',
  cannot_cancel: 'the funds were already captured; the transfer cannot be cancelled',
};

/** Runs a transfer Update, turning its refusals into problems with the workflow's own code. */
async function runUpdate(
  client: Client,
  fallbackCode: string,
  update: () => Promise<Transfer>,
): Promise<Transfer> {
  try {
    return await client.withDeadline(Date.now() + 15_000, update);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const code = applicationFailureType(err) ?? fallbackCode;
      throw new ProblemError(
        DOMAIN_STATUS[code] ?? 409,
        code,
        UPDATE_DETAIL[code] ?? 'the transfer refused this action',
        applicationFailureDetails(err),
      );
    }
    // Updating a closed workflow: NOT_FOUND ("already completed") or FAILED_PRECONDITION.
    if (
      err instanceof WorkflowNotFoundError ||
      (isGrpcServiceError(err) && [5, 9].includes(Number(err.code)))
    ) {
      throw new ProblemError(409, 'transfer_finalized', 'the transfer has already finished');
    }
    throw err;
  }
}

/** Visibility query strings are built from verified values only; refuse anything that could escape a literal. */
function literal(value: string): string {
  if (!/^[A-Za-z0-9:._@-]{1,128}$/.test(value))
    throw new ProblemError(400, 'bad_request', 'unsupported principal id');
  return `'${value}'`;
}

function decodeCursor(cursor: string | undefined): Uint8Array | undefined {
  if (!cursor) return undefined;
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length === 0) throw new ProblemError(400, 'invalid_cursor', 'the cursor is not valid');
  return bytes;
}

/** `/v1/transfers`: every transfer is a `transferWorkflow`; state is read back with its query. */
export function createTransferRoutes(deps: GatewayDeps) {
  const app = createRouter();
  const temporal = deps.temporal;
  const rpcMs = deps.config.TEMPORAL_RPC_TIMEOUT_MS;
  const findOwned = (id: string, principal: Principal, access: 'read' | 'act') =>
    withinDeadline(temporal, rpcMs, () => describeOwnedTransfer(temporal, id, principal, access));
  app.use('*', authenticate(deps.verifyToken, deps.isRevoked));
  app.use(
    '*',
    rateLimit(deps.rateLimiter, 'user', (c) => c.var.principal.subject),
  );

  app.openapi(createTransfer, async (c) => {
    const principal = c.var.principal;
    requireUser(principal);
    const key = requireIdempotencyKey(c);
    const body = c.req.valid('json');
    if (body.from_wallet_id === body.to_wallet_id) {
      throw new ProblemError(422, 'same_wallet', 'from_wallet_id and to_wallet_id must differ');
    }
    // BOLA: the source must be the caller's own wallet; the destination may be anyone's.
    const source = await loadAccessibleWallet(deps.wallet, c, body.from_wallet_id, principal, 'spend');
    if (source.currency !== body.currency) {
      throw new ProblemError(422, 'currency_mismatch', `the source wallet holds ${source.currency}`);
    }

    const transferId = deriveId('transfer', principal.subject, key);
    const amount = body.amount.toString();
    const description = body.description ?? '';
    const hash = requestHash({
      from_wallet_id: body.from_wallet_id,
      to_wallet_id: body.to_wallet_id,
      amount,
      currency: body.currency,
      description,
    });
    const createdAt = new Date().toISOString();
    const input: TransferInput = {
      transfer_id: transferId,
      from_wallet_id: body.from_wallet_id,
      to_wallet_id: body.to_wallet_id,
      amount,
      currency: body.currency,
      description,
      initiated_by: {
        user_id: principal.subject,
        client_id: principal.clientId,
        token_jti: principal.tokenId,
        ip: c.var.clientIp,
        user_agent: (c.req.header('user-agent') ?? '').slice(0, 256),
      },
      request_hash: hash,
      created_at: createdAt,
    };
    const memo: Omit<TransferMemo, 'request_hash'> = {
      initiated_by: principal.subject,
      transfer: {
        id: transferId,
        from_wallet_id: input.from_wallet_id,
        to_wallet_id: input.to_wallet_id,
        amount,
        currency: input.currency,
        description,
        created_at: createdAt,
      },
      request_id: c.var.requestId,
      traceparent: c.var.traceparent,
    };
    // The orchestrator's own start options (id, summary, search attributes from the first moment),
    // plus what the gateway needs to recognise replays and owners.
    const start = transferStartOptions(input);
    const { handle, description: execution } = await startIdempotent(temporal, {
      ...start,
      rpcTimeoutMs: rpcMs,
      taskQueue: deps.config.TEMPORAL_TASK_QUEUE,
      workflowType: TRANSFER_WORKFLOW,
      requestHash: hash,
      memo: { ...start.memo, ...memo },
    });

    const waitSeconds = preferWaitSeconds(c.req.header('prefer'));
    const transfer =
      (waitSeconds > 0
        ? await waitForSettled(temporal, handle, waitSeconds * 1000)
        : await queryTransfer(temporal, handle, 1000)) ?? transferFromDescription(execution);
    if (waitSeconds > 0) c.header('preference-applied', `wait=${waitSeconds}`);
    c.header('location', `/v1/transfers/${transferId}`);
    return c.json(transfer, isTerminal(transfer) ? 200 : 202);
  });

  app.openapi(getTransferRoute, async (c) => {
    const { transfer_id } = c.req.valid('param');
    const { handle, description } = await findOwned(transfer_id, c.var.principal, 'read');
    return c.json(await readTransfer(temporal, handle, description, 3000), 200);
  });

  app.openapi(listTransfers, async (c) => {
    const principal = c.var.principal;
    requireUser(principal);
    const { status, limit, cursor } = c.req.valid('query');
    let query = `WorkflowType = '${TRANSFER_WORKFLOW}' AND ${searchAttributes.InitiatedBy.name} = ${literal(principal.subject)}`;
    if (status) query += ` AND ${searchAttributes.TransferStatus.name} = '${status}'`;
    const page = await withinDeadline(temporal, rpcMs, () =>
      temporal.workflowService.listWorkflowExecutions({
        namespace: temporal.options.namespace,
        pageSize: limit ?? 20,
        nextPageToken: decodeCursor(cursor),
        query,
      }),
    );
    const items = await Promise.all(
      (page.executions ?? []).map(async (execution) => {
        const workflowId = execution.execution?.workflowId ?? '';
        const handle: WorkflowHandle = temporal.workflow.getHandle(workflowId);
        const live = await queryTransfer(temporal, handle, 2000);
        return (
          live ?? transferFromDescription(await withinDeadline(temporal, rpcMs, () => handle.describe()))
        );
      }),
    );
    const token =
      page.nextPageToken && page.nextPageToken.length > 0
        ? Buffer.from(page.nextPageToken).toString('base64url')
        : null;
    return c.json({ items, next_cursor: token }, 200);
  });

  app.openapi(confirmTransfer, async (c) => {
    const { transfer_id } = c.req.valid('param');
    const { code } = c.req.valid('json');
    const { handle, description } = await findOwned(transfer_id, c.var.principal, 'act');
    if (description.status.name !== 'RUNNING') {
      throw new ProblemError(409, 'not_awaiting_confirmation', UPDATE_DETAIL.not_awaiting_confirmation!);
    }
    const transfer = await runUpdate(temporal, 'not_awaiting_confirmation', () =>
      handle.executeUpdate(confirmOtp, { args: [{ code }] }),
    );
    return c.json(transfer, 200);
  });

  app.openapi(cancelTransferRoute, async (c) => {
    const { transfer_id } = c.req.valid('param');
    const { handle, description } = await findOwned(transfer_id, c.var.principal, 'act');
    if (description.status.name !== 'RUNNING') {
      // A finished transfer: cancelling a cancelled (or failed) one again is a no-op that
      // answers with it; a completed one moved the money and cannot be cancelled.
      const finished = await readTransfer(temporal, handle, description, 3000);
      if (finished.status === 'completed') {
        throw new ProblemError(409, 'cannot_cancel', UPDATE_DETAIL.cannot_cancel!);
      }
      return c.json(finished, 200);
    }
    const transfer = await runUpdate(temporal, 'cannot_cancel', () => handle.executeUpdate(cancelTransfer));
    return c.json(transfer, 200);
  });

  return app;
}
