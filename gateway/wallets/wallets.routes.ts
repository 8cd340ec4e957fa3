import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { requireUser } from '../http/authn.js';
import { respondJson } from '../../lib/service-app.js';
import { unwrap } from '../http/forward.js';
import { propagationHeaders } from '../http/request-context.js';
import type { GatewayMiddleware } from '../http/route-middleware.js';
import type { Upstream } from '../http/upstream.js';
import {
  CreateWalletBody,
  EntrySchema,
  WalletSchema,
  problemResponses,
  resourceId,
} from '../openapi/schemas.js';
import { bearerSecurity, createRouter } from '../openapi/router.js';
import type { Wallet } from '../../wallet/wallet-api.js';
import { readAccessibleWallet } from './wallet-access.js';
import { createWalletReader } from './wallet-reader.js';

const WalletList = z.object({ items: z.array(WalletSchema) }).openapi('WalletList');
const EntryPage = z
  .object({ items: z.array(EntrySchema), next_cursor: z.string().nullable() })
  .openapi('EntryPage');
const WalletParams = z.object({
  wallet_id: resourceId.openapi({ param: { name: 'wallet_id', in: 'path' } }),
});

const listWallets = createRoute({
  method: 'get',
  path: '/',
  tags: ['Wallets'],
  summary: "The caller's own wallets",
  security: bearerSecurity,
  responses: {
    200: { description: 'wallets', content: { 'application/json': { schema: WalletList } } },
    ...problemResponses(401, 403, 429, 503),
  },
});

const createWallet = createRoute({
  method: 'post',
  path: '/',
  tags: ['Wallets'],
  summary: 'Open a wallet in a currency (returns the existing one if the caller has it)',
  security: bearerSecurity,
  request: { body: { required: true, content: { 'application/json': { schema: CreateWalletBody } } } },
  responses: {
    201: { description: 'created', content: { 'application/json': { schema: WalletSchema } } },
    200: { description: 'already existed', content: { 'application/json': { schema: WalletSchema } } },
    ...problemResponses(400, 401, 403, 429, 503),
  },
});

const getWallet = createRoute({
  method: 'get',
  path: '/{wallet_id}',
  tags: ['Wallets'],
  summary: 'One wallet (own wallets only; admins may read any)',
  security: bearerSecurity,
  request: { params: WalletParams },
  responses: {
    200: { description: 'wallet', content: { 'application/json': { schema: WalletSchema } } },
    ...problemResponses(400, 401, 404, 429, 503),
  },
});

const listTransactions = createRoute({
  method: 'get',
  path: '/{wallet_id}/transactions',
  tags: ['Wallets'],
  summary: "A wallet's journal entries, newest first",
  security: bearerSecurity,
  request: {
    params: WalletParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).optional(),
      cursor: z.string().max(512).optional(),
    }),
  },
  responses: {
    200: { description: 'entries', content: { 'application/json': { schema: EntryPage } } },
    ...problemResponses(400, 401, 404, 429, 503),
  },
});

/** `/v1/wallets`: reads come from WalletService, always filtered to the caller. */
export function createWalletRoutes({
  wallet,
  signedIn,
}: {
  /** WalletService, called with the gateway's service token. */
  wallet: Upstream;
  /** A valid, unrevoked token, then the caller's per-user budget (route-middleware.ts). */
  signedIn: readonly GatewayMiddleware[];
}) {
  const app = createRouter();
  // Wallet reads that arrive together share one WalletService call (wallet-reader.ts).
  const readWallet = createWalletReader(wallet);
  app.use('*', ...signedIn);

  app.openapi(listWallets, async (c) => {
    const principal = c.get('principal');
    requireUser(principal);
    const result = await wallet.client.request<{ items: Wallet[] }>(
      'GET',
      `/internal/wallets?user_id=${encodeURIComponent(principal.subject)}`,
      { headers: propagationHeaders(c) },
    );
    const data = unwrap(wallet.name, result);
    // Defence in depth: never show a wallet that is not the caller's, whatever the upstream sent.
    return c.json({ items: data.items.filter((w) => w.user_id === principal.subject) }, 200);
  });

  app.openapi(createWallet, async (c) => {
    const principal = c.get('principal');
    requireUser(principal);
    const { currency } = c.req.valid('json');
    const result = await wallet.client.request<Wallet>('POST', '/internal/wallets', {
      body: { user_id: principal.subject, currency },
      // WalletService keeps one wallet per (user, currency) and answers 200 with the existing one.
      // A fixed key here would replay the first call's stored 201 forever, so each call gets its own.
      idempotencyKey: `gateway:wallet:${randomUUID()}`,
      headers: propagationHeaders(c),
    });
    const created = unwrap(wallet.name, result);
    return c.json(created, result.status === 200 ? 200 : 201);
  });

  app.openapi(getWallet, async (c) => {
    const { wallet_id } = c.req.valid('param');
    const found = await readAccessibleWallet(readWallet, c, wallet_id, c.get('principal'));
    // The hot read: a plain-object response (lib/service-app.ts respondJson), no Headers built.
    return respondJson(c, found, 200);
  });

  app.openapi(listTransactions, async (c) => {
    const { wallet_id } = c.req.valid('param');
    const { limit, cursor } = c.req.valid('query');
    await readAccessibleWallet(readWallet, c, wallet_id, c.get('principal'));
    const qs = new URLSearchParams();
    if (limit !== undefined) qs.set('limit', String(limit));
    if (cursor !== undefined) qs.set('cursor', cursor);
    const suffix = qs.size > 0 ? `?${qs.toString()}` : '';
    const result = await wallet.client.request<{
      items: z.infer<typeof EntrySchema>[];
      next_cursor: string | null;
    }>('GET', `/internal/wallets/${encodeURIComponent(wallet_id)}/transactions${suffix}`, {
      headers: propagationHeaders(c),
    });
    const page = unwrap(wallet.name, result);
    return c.json({ items: page.items, next_cursor: page.next_cursor ?? null }, 200);
  });

  return app;
}
