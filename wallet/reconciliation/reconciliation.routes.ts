import { Hono } from 'hono';
import { requireWalletScope } from '../http/wallet-scopes.js';
import type { WalletDeps, WalletEnv } from '../http/wallet-env.js';
import type { ReconciliationService } from './reconciliation.service.js';

/** `GET /internal/reconciliation` (operators): the full report; `ok: false` lists every discrepancy. */
export function createReconciliationRoutes(deps: WalletDeps, reconciliation: ReconciliationService) {
  const admin = requireWalletScope(deps.verifier, 'wallet:admin');
  const app = new Hono<WalletEnv>();
  app.get('/reconciliation', admin, async (c) => c.json(await reconciliation.run()));
  return app;
}
