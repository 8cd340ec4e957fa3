import { randomUUID } from 'node:crypto';
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { unwrap } from '../http/forward.js';
import { propagationHeaders, type GatewayEnv } from '../http/request-context.js';
import type { Upstream } from '../http/upstream.js';
import {
  IdempotencyKeyHeader,
  WalletSchema,
  problemCodes,
  problemResponses,
  resourceId,
} from '../openapi/schemas.js';
import { bearerSecurity } from '../openapi/router.js';
import { isIdempotencyKey } from '../../lib/idempotency-key.js';
import type { Wallet } from '../../wallet/wallet-api.js';

const StatusChangeBody = z
  .strictObject({
    reason: z.string().trim().min(1).max(500).openapi({
      description: 'why (a ticket, a fraud case): recorded with the operator’s identity',
      example: 'case 4711: suspected account takeover',
    }),
  })
  .openapi('WalletStatusChangeRequest');

const ACTIONS = {
  freeze: {
    summary: 'Freeze a wallet: it can neither send nor receive (admin)',
    description:
      'Transfers from or to a frozen wallet fail with `wallet_frozen`, also one reserved before the freeze that was not captured yet (its hold is released). Asking again answers the wallet unchanged (`status_changed: false`). A closed wallet → `409 wallet_closed`.',
    conflicts: ['wallet_closed'],
  },
  unfreeze: {
    summary: 'Unfreeze a wallet (admin)',
    description:
      'The wallet sends and receives again. Asking for an active wallet answers it unchanged (`status_changed: false`). A closed wallet → `409 wallet_closed`.',
    conflicts: ['wallet_closed'],
  },
  close: {
    summary: 'Close a wallet for good (admin)',
    description:
      'Only at zero balance with no active hold (`409 wallet_not_empty`); a frozen wallet may be closed. Closed is final: it never sends, receives or reopens (`wallet_closed`).',
    conflicts: ['wallet_not_empty'],
  },
} as const;

type Action = keyof typeof ACTIONS;

const WalletStatusResult = WalletSchema.extend({
  status_changed: z.boolean().openapi({ description: 'false when the wallet already had this status' }),
}).openapi('WalletStatusResult');

function statusRoute(action: Action) {
  return createRoute({
    method: 'post',
    path: `/wallets/{wallet_id}/${action}`,
    tags: ['Admin'],
    summary: ACTIONS[action].summary,
    description: `${ACTIONS[action].description} Every change is recorded with the operator and the reason. An \`Idempotency-Key\` is optional: the same key and body answer the first outcome, another body under it → \`422 idempotency_key_mismatch\`.`,
    security: bearerSecurity,
    request: {
      params: z.object({ wallet_id: resourceId.openapi({ param: { name: 'wallet_id', in: 'path' } }) }),
      headers: IdempotencyKeyHeader,
      body: { required: true, content: { 'application/json': { schema: StatusChangeBody } } },
    },
    responses: {
      200: {
        description: 'the wallet after the change',
        content: { 'application/json': { schema: WalletStatusResult } },
      },
      ...problemResponses(400, 401, 403, 404, 429, 503),
      ...problemCodes({ 409: ACTIONS[action].conflicts, 422: ['idempotency_key_mismatch'] }),
    },
  });
}

/**
 * The longest caller key passed on: prefixed with `gateway:admin:<subject>:`, it stays within
 * the 255 characters an Idempotency-Key may have. A longer (or malformed) one gets a fresh key.
 */
const MAX_CLIENT_KEY_CHARS = 200;

/**
 * `/v1/admin/wallets/:wallet_id/{freeze,unfreeze,close}`: WalletService makes and records the
 * change (wallet/administration); the gateway adds who asked. The key sent to WalletService is
 * the caller's own `Idempotency-Key` (scoped to the admin) or, without one, a fresh key per
 * request: the change itself is idempotent (asking for the status a wallet has changes nothing),
 * while a fixed key would replay a stale answer after a freeze → unfreeze → freeze.
 */
export function registerWalletStatusRoutes(app: OpenAPIHono<GatewayEnv>, wallet: Upstream): void {
  for (const action of Object.keys(ACTIONS) as Action[]) {
    app.openapi(statusRoute(action), async (c) => {
      const principal = c.var.principal;
      const { wallet_id } = c.req.valid('param');
      const { reason } = c.req.valid('json');
      const clientKey = c.req.header('idempotency-key');
      const key =
        clientKey !== undefined && clientKey.length <= MAX_CLIENT_KEY_CHARS && isIdempotencyKey(clientKey)
          ? `gateway:admin:${principal.subject}:${clientKey}`
          : `gateway:admin:${randomUUID()}`;
      const result = await wallet.client.request<Wallet & { status_changed: boolean }>(
        'POST',
        `/internal/wallets/${encodeURIComponent(wallet_id)}/${action}`,
        {
          body: { reason, requested_by: principal.subject },
          idempotencyKey: key,
          headers: propagationHeaders(c),
        },
      );
      return c.json(unwrap(wallet.name, result), 200);
    });
  }
}
