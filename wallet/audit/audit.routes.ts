import { Hono } from 'hono';
import type { z } from 'zod';
import { auditTraceBody, authLogBody } from './audit-records.js';
import type { AuditCollection } from './audit.service.js';
import { parseJsonBody } from '../../lib/json-body.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';

export type AuditRoutesDeps = Pick<WalletServices, 'audit' | 'requireScope' | 'idempotent'>;

/**
 * `POST /internal/audit-trace` and `POST /internal/auth-log`: records for MongoDB, written through
 * the outbox so they are durable once accepted and appear in MongoDB exactly once per key.
 */
export function createAuditRoutes({ audit, requireScope, idempotent }: AuditRoutesDeps) {
  const write = requireScope('wallet:write');
  const app = new Hono<WalletEnv>();
  const routes: [string, AuditCollection, z.ZodObject][] = [
    ['/audit-trace', 'audit_trace', auditTraceBody],
    ['/auth-log', 'transaction_auth_log', authLogBody],
  ];
  for (const [path, collection, schema] of routes) {
    app.post(path, write, async (c) => {
      const body = await parseJsonBody(c, schema);
      return idempotent.respond(
        c,
        body,
        (trx) => audit.record(trx, collection, body, c.get('principal').clientId),
        (id) => ({ status: 202, body: { id, accepted: true } }),
      );
    });
  }
  return app;
}
