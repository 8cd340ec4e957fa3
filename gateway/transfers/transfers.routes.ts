import { createRoute, z } from '@hono/zod-openapi';
import { requireIdempotencyKey } from '../../lib/idempotency-key.js';
import { ProblemError } from '../../lib/problem.js';
import { requireUser } from '../http/authn.js';
import type { GatewayMiddleware } from '../http/route-middleware.js';
import {
  ConfirmTransferBody,
  CreateTransferBody,
  IdempotencyKeyHeader,
  TRANSFER_STATUSES,
  TransferSchema,
  problemCodes,
  problemResponses,
  resourceId,
} from '../openapi/schemas.js';
import { bearerSecurity, createRouter } from '../openapi/router.js';
import { deriveId } from '../temporal/idempotency.js';
import type { SpendCheck } from '../wallets/wallet-access.js';
import { publicTransfer } from './public-transfer.js';
import { isTerminal, preferWaitSeconds } from './transfer-reader.js';
import type { TransferRequest } from './transfer-start.js';
import type { TransferService } from './transfers.service.js';

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
    'Requires `Idempotency-Key` (scoped to the caller). `Prefer: wait=N` (N ≤ 30) answers with the transfer once it is settled or awaits its confirmation code, if that happens in time. Amounts above 9007199254740991 → `422 amount_too_large`. Steps carry `error_code` and a fixed message only.',
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
    ...problemResponses(400, 401, 403, 404, 413, 415, 429, 503),
    ...problemCodes({
      422: ['amount_too_large', 'idempotency_key_mismatch', 'same_wallet', 'currency_mismatch'],
    }),
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
  description:
    'Transfers from their durable records, merged with those still running or just closed: `steps` is empty in list items (`GET /v1/transfers/{transfer_id}` has the full steps). The cursor is a position in the list, stable while transfers close and are archived.',
  security: bearerSecurity,
  request: {
    query: z.object({
      status: z.enum(TRANSFER_STATUSES).optional(),
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

export interface TransferRouteDeps {
  /** A valid, unrevoked token, then the caller's per-user budget (route-middleware.ts). */
  signedIn: readonly GatewayMiddleware[];
  transfers: TransferService;
  /** The BOLA check of the source wallet (wallet-access.ts). */
  spendableWallet: SpendCheck;
}

/** `/v1/transfers`: every transfer is a `transferWorkflow` (transfers.service.ts). */
export function createTransferRoutes({ signedIn, transfers, spendableWallet }: TransferRouteDeps) {
  const app = createRouter();
  app.use('*', ...signedIn);

  app.openapi(createTransfer, async (c) => {
    const principal = c.var.principal;
    requireUser(principal);
    const key = requireIdempotencyKey(c);
    const body = c.req.valid('json');
    if (body.from_wallet_id === body.to_wallet_id) {
      throw new ProblemError(422, 'same_wallet', 'from_wallet_id and to_wallet_id must differ');
    }
    // BOLA: the source must be the caller's own wallet; the destination may be anyone's.
    const source = await spendableWallet(c, body.from_wallet_id, principal);
    if (source.currency !== body.currency) {
      throw new ProblemError(422, 'currency_mismatch', `the source wallet holds ${source.currency}`);
    }

    const transferId = deriveId('transfer', principal.subject, key);
    const request: TransferRequest = {
      from_wallet_id: body.from_wallet_id,
      to_wallet_id: body.to_wallet_id,
      amount: body.amount.toString(),
      currency: body.currency,
      description: body.description ?? '',
    };
    const waitSeconds = preferWaitSeconds(c.req.header('prefer'));
    const transfer = await transfers.start({
      transferId,
      request,
      caller: { principal, clientIp: c.var.clientIp, userAgent: c.req.header('user-agent') },
      trace: { request_id: c.var.requestId, traceparent: c.var.traceparent },
      waitMs: waitSeconds * 1000,
    });
    if (waitSeconds > 0) c.header('preference-applied', `wait=${waitSeconds}`);
    c.header('location', `/v1/transfers/${transferId}`);
    return c.json(publicTransfer(transfer), isTerminal(transfer) ? 200 : 202);
  });

  app.openapi(getTransferRoute, async (c) => {
    const { transfer_id } = c.req.valid('param');
    return c.json(publicTransfer(await transfers.get(c, transfer_id, c.var.principal)), 200);
  });

  app.openapi(listTransfers, async (c) => {
    const principal = c.var.principal;
    requireUser(principal);
    const { status, limit = 20, cursor } = c.req.valid('query');
    return c.json(await transfers.list(c, { user: principal.subject, status, limit, cursor }), 200);
  });

  app.openapi(confirmTransfer, async (c) => {
    const { transfer_id } = c.req.valid('param');
    const { code } = c.req.valid('json');
    return c.json(publicTransfer(await transfers.confirm(transfer_id, c.var.principal, code)), 200);
  });

  app.openapi(cancelTransferRoute, async (c) => {
    const { transfer_id } = c.req.valid('param');
    return c.json(publicTransfer(await transfers.cancel(transfer_id, c.var.principal)), 200);
  });

  return app;
}
