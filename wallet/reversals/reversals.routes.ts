import { Hono } from 'hono';
import { z } from 'zod';
import { ProblemError } from '../../lib/problem.js';
import { parseJsonBody } from '../../lib/json-body.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';
import { toReversalView } from './reversals.service.js';
import type { ReversalAnswer, ReversalReleaseAnswer } from '../wallet-api.js';
import { holdTtlSecondsSchema } from '../holds/hold-ttl.js';

const holdBody = z.strictObject({
  allow_partial: z.boolean(),
  reason: z.string().trim().min(1).max(500),
  requested_by: z.string().trim().min(1).max(200),
  hold_ttl_seconds: holdTtlSecondsSchema,
});

const TRANSFER_ID = /^[\x21-\x7E]{1,128}$/;

function transferIdParam(id: string): string {
  if (!TRANSFER_ID.test(id))
    throw new ProblemError(400, 'validation_failed', 'path.transfer_id: 1 to 128 visible ASCII characters');
  return id;
}

export type ReversalRoutesDeps = Pick<WalletServices, 'reversals' | 'requireScope' | 'idempotent'>;

/**
 * `/internal/transfers/:transfer_id/reversal/{hold,capture,release}` (wallet:write, as a transfer's steps): the steps
 * of an operator's reversal, each idempotent per key (docs/internal-api.md).
 */
export function createReversalRoutes({ reversals, requireScope, idempotent }: ReversalRoutesDeps) {
  const write = requireScope('wallet:write');
  const app = new Hono<WalletEnv>();

  app.post('/:transfer_id/reversal/hold', write, async (c) => {
    const transferId = transferIdParam(c.req.param('transfer_id'));
    const body = await parseJsonBody(c, holdBody);
    return idempotent.respond(
      c,
      body,
      (trx) =>
        reversals.hold(trx, {
          transferId,
          allowPartial: body.allow_partial,
          reason: body.reason,
          requestedBy: body.requested_by,
          holdTtlSeconds: body.hold_ttl_seconds,
        }),
      (row) => ({ status: 201, body: { reversal: toReversalView(row) } satisfies ReversalAnswer }),
    );
  });

  app.post('/:transfer_id/reversal/capture', write, async (c) => {
    const transferId = transferIdParam(c.req.param('transfer_id'));
    return idempotent.respond(
      c,
      {},
      (trx) => reversals.capture(trx, transferId),
      (row) => ({ status: 200, body: { reversal: toReversalView(row) } satisfies ReversalAnswer }),
    );
  });

  app.post('/:transfer_id/reversal/release', write, async (c) => {
    const transferId = transferIdParam(c.req.param('transfer_id'));
    return idempotent.respond(
      c,
      {},
      (trx) => reversals.release(trx, transferId),
      ({ released, reversal }) => ({
        status: 200,
        body: {
          released,
          reversal: reversal ? toReversalView(reversal) : null,
        } satisfies ReversalReleaseAnswer,
      }),
    );
  });
  return app;
}
