import { Hono } from 'hono';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';

export type ReconciliationRoutesDeps = Pick<WalletServices, 'reconciliation' | 'requireScope'>;

/** `GET /internal/reconciliation` (operators): the full report; `ok: false` lists every discrepancy. */
export function createReconciliationRoutes({ reconciliation, requireScope }: ReconciliationRoutesDeps) {
  const admin = requireScope('wallet:admin');
  const app = new Hono<WalletEnv>();
  app.get('/reconciliation', admin, async (c) => c.json(await reconciliation.run()));
  return app;
}
