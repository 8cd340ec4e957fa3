import { Hono } from 'hono';
import { MongoError } from 'mongodb';
import { z } from 'zod';
import { ProblemError } from '../../lib/problem.js';
import { problemError } from '../http/idempotent-route.js';
import { parseQuery } from '../../lib/json-body.js';
import { isUuid } from '../../lib/uuid.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';
import { WalletError } from '../wallets/wallets.errors.js';
import { decodeCursor } from './history.service.js';

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

export type HistoryRoutesDeps = Pick<WalletServices, 'wallets' | 'history' | 'db' | 'log' | 'requireScope'>;

/** `GET /internal/wallets/:id/transactions`: the wallet's entries, newest first. */
export function createHistoryRoutes({ wallets, history, db, log, requireScope }: HistoryRoutesDeps) {
  const read = requireScope('wallet:read');
  const app = new Hono<WalletEnv>();
  app.get('/wallets/:id/transactions', read, async (c) => {
    const id = c.req.param('id');
    const q = parseQuery(c, pageQuery);
    const wallet = isUuid(id) ? await wallets.get(db, id) : WalletError.WalletNotFound;
    if (typeof wallet === 'string') throw problemError(wallet);
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    if (q.cursor !== undefined && before === undefined) {
      throw new ProblemError(400, 'validation_failed', 'query.cursor: not a cursor this service issued');
    }
    const page = await history.list(id, q.limit, before).catch((err: unknown) => {
      // MongoDB down is an outage of this read only (money keeps moving): say so, retryably.
      if (err instanceof MongoError) {
        log.warn({ err }, 'history read failed');
        throw new ProblemError(503, 'history_unavailable', 'transaction history is temporarily unavailable');
      }
      throw err;
    });
    return c.json(page);
  });
  return app;
}
