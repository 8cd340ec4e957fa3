import { Hono } from 'hono';
import { respondJson } from '../../lib/service-app.js';
import { z } from 'zod';
import { currencySchema, limitSchema } from '../../lib/money.js';
import { problemError } from '../http/idempotent-route.js';
import { parseJsonBody, parseQuery } from '../../lib/json-body.js';
import { isUuid } from '../../lib/uuid.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';
import { WalletError } from './wallets.errors.js';
import { toWalletView } from './wallets.service.js';
import type { WalletList } from '../wallet-api.js';

const createBody = z.object({ user_id: z.uuid(), currency: currencySchema });
const overdraftBody = z.object({ limit: limitSchema });
/** Most ids one batched read may name: the gateway sends at most this many (gateway/wallets/wallet-reader.ts). */
export const MAX_BATCH_IDS = 100;
const listQuery = z.union([
  z.strictObject({ user_id: z.uuid() }),
  z.strictObject({
    ids: z
      .string()
      .transform((s) => s.split(','))
      .pipe(z.array(z.uuid()).min(1).max(MAX_BATCH_IDS)),
  }),
]);

export type WalletRoutesDeps = Pick<WalletServices, 'wallets' | 'db' | 'requireScope' | 'idempotent'>;

/**
 * `/internal/wallets`: create, read, list, overdraft. Freeze, unfreeze and close (audited, with a
 * reason) are wallet/administration's.
 */
export function createWalletRoutes({ wallets, db, requireScope, idempotent }: WalletRoutesDeps) {
  const read = requireScope('wallet:read');
  const write = requireScope('wallet:write');
  const admin = requireScope('wallet:admin');
  const app = new Hono<WalletEnv>();

  app.post('/', write, async (c) => {
    const body = await parseJsonBody(c, createBody);
    return idempotent.respond(
      c,
      body,
      (trx) => wallets.create(trx, body.user_id, body.currency),
      ({ wallet, created }) => ({ status: created ? 201 : 200, body: toWalletView(wallet) }),
    );
  });

  // `?user_id=`: a user's wallets. `?ids=a,b,…`: the gateway's batched wallet reads, one
  // statement for every read that arrived together; the ids that are not user wallets are left
  // out, and the gateway answers those callers 404 (and checks each caller's ownership itself).
  app.get('/', read, async (c) => {
    const query = parseQuery(c, listQuery);
    if ('ids' in query) {
      const rows = await wallets.getMany(db, [...new Set(query.ids.map((id) => id.toLowerCase()))]);
      return respondJson(c, { items: rows.map(toWalletView) } satisfies WalletList, 200);
    }
    const rows = await wallets.listByUser(db, query.user_id);
    return c.json({ items: rows.map(toWalletView) } satisfies WalletList);
  });

  app.get('/:id', read, async (c) => {
    const id = c.req.param('id');
    const row = isUuid(id) ? await wallets.get(db, id) : WalletError.WalletNotFound;
    if (typeof row === 'string') throw problemError(row);
    // The gateway asks for this on every wallet read: the plain-object response, no Headers.
    return respondJson(c, toWalletView(row), 200);
  });

  app.post('/:id/overdraft', admin, async (c) => {
    const id = c.req.param('id');
    const body = await parseJsonBody(c, overdraftBody);
    return idempotent.respond(
      c,
      body,
      async (trx) => (isUuid(id) ? wallets.setOverdraft(trx, id, body.limit) : WalletError.WalletNotFound),
      (row) => ({ status: 200, body: toWalletView(row) }),
    );
  });
  return app;
}
