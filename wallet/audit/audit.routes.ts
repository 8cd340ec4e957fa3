import { Hono } from 'hono';
import type { z } from 'zod';
import { requireWalletScope } from '../http/wallet-scopes.js';
import { respondIdempotently } from '../http/idempotent-route.js';
import { auditTraceBody, authLogBody } from './audit-records.js';
import type { AuditCollection, AuditService } from './audit.service.js';
import { parseJsonBody } from '../../lib/json-body.js';
import type { WalletDeps, WalletEnv } from '../http/wallet-env.js';

/**
 * `POST /internal/audit-trace` and `POST /internal/auth-log`: records for MongoDB, written through
 * the outbox so they are durable once accepted and appear in MongoDB exactly once per key.
 */
export function createAuditRoutes(deps: WalletDeps, audit: AuditService) {
  const write = requireWalletScope(deps.verifier, 'wallet:write');
  const app = new Hono<WalletEnv>();
  const routes: [string, AuditCollection, z.ZodObject][] = [
    ['/audit-trace', 'audit_trace', auditTraceBody],
    ['/auth-log', 'transaction_auth_log', authLogBody],
  ];
  for (const [path, collection, schema] of routes) {
    app.post(path, write, async (c) => {
      const body = await parseJsonBody(c, schema);
      return respondIdempotently(
        c,
        deps,
        body,
        (trx) => audit.record(trx, collection, body, c.get('principal').clientId),
        (id) => ({ status: 202, body: { id, accepted: true } }),
      );
    });
  }
  return app;
}
