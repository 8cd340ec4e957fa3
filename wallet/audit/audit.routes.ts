import { Hono } from 'hono';
import { z } from 'zod';
import { requireWalletScope } from '../wallet-scopes.js';
import { respondIdempotently } from '../idempotency/idempotent-route.js';
import type { AuditCollection, AuditService } from './audit.service.js';
import { parseBody } from '../request-input.js';
import type { WalletDeps, WalletEnv } from '../wallet-env.js';

const text = (max = 200) => z.string().max(max);

const auditTraceBody = z.object({
  workflow_id: text().min(1),
  transfer_id: text().optional(),
  step: text().min(1),
  status: text(64).min(1),
  attempt: z.number().int().min(0).max(10_000),
  duration_ms: z.number().min(0).max(86_400_000),
  error: z.union([text(2000), z.record(z.string(), z.unknown())]).optional(),
});

const authLogBody = z.object({
  transfer_id: text().min(1),
  workflow_id: text().min(1),
  user_id: text().min(1),
  // What the edge knew about the caller; any of it may be unknown (null or absent).
  client_id: text().nullish(),
  token_jti: text().nullish(),
  ip: text(64).nullish(),
  user_agent: text(512).nullish(),
  step_up: z.boolean(),
});

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
      const body = await parseBody(c, schema);
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
