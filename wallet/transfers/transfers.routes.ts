import { Hono } from 'hono';
import { z } from 'zod';
import { amountSchema, currencySchema, limitSchema } from '../../lib/money.js';
import { ProblemError } from '../../lib/problem.js';
import { transferRecordEvents, transferRecordsSchema } from '../audit/audit-records.js';
import { respondInOneRoundTrip } from '../idempotency/idempotent-route.js';
import { parseBody } from '../request-input.js';
import type { WalletDeps, WalletEnv } from '../wallet-env.js';
import { requireWalletScope } from '../wallet-scopes.js';
import { toHoldView } from '../holds/holds.service.js';
import { releaseTransfer, reserveTransfer, transferLedgerState } from './transfers.repository.js';

const reserveBody = z.object({
  user_id: z.uuid(),
  from_wallet_id: z.uuid(),
  to_wallet_id: z.uuid(),
  amount: amountSchema,
  currency: currencySchema,
  limits: z.object({ per_transfer: limitSchema, daily: limitSchema }),
  hold_ttl_seconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600),
});
const releaseBody = z.object({ records: transferRecordsSchema.optional() }).default({});

const TRANSFER_ID = /^[\x21-\x7E]{1,128}$/;

/**
 * `/internal/transfers/:transfer_id/{reserve,release}`: the transfer's first and (on a failure
 * path) last WalletService call, each one PostgreSQL round trip (docs/internal-api.md).
 */
export function createTransferRoutes(deps: WalletDeps) {
  const write = requireWalletScope(deps.verifier, 'wallet:write');
  const read = requireWalletScope(deps.verifier, 'wallet:read');
  const app = new Hono<WalletEnv>();

  // Read-only: the orchestrator checks the ledger here before an operator closes a transfer
  // whose release found its hold captured (resolveAsCompleted).
  app.get('/:transfer_id', read, async (c) => {
    const state = await transferLedgerState(deps.db, transferIdParam(c.req.param('transfer_id')));
    return c.json({ hold: state.hold ? toHoldView(state.hold) : null, capture: state.capture });
  });

  app.post('/:transfer_id/reserve', write, async (c) => {
    const transferId = transferIdParam(c.req.param('transfer_id'));
    const body = await parseBody(c, reserveBody);
    // Version 2 leaves the user's limits out: they are read from AuthService when the request is
    // built, so a reserve re-sent after a limits change (a workflow reset) is still the same
    // transfer; the limits decide whether it passes, not which transfer it is.
    const { limits: _limits, ...transfer } = body;
    return respondInOneRoundTrip(
      c,
      deps,
      transfer,
      (idem) =>
        reserveTransfer(deps.db, idem, {
          transferId,
          userId: body.user_id,
          fromWalletId: body.from_wallet_id,
          toWalletId: body.to_wallet_id,
          amount: body.amount,
          currency: body.currency,
          perTransferLimit: body.limits.per_transfer,
          dailyLimit: body.limits.daily,
          holdTtlSeconds: body.hold_ttl_seconds,
        }),
      { version: 2, version1Body: body },
    );
  });

  app.post('/:transfer_id/release', write, async (c) => {
    const transferId = transferIdParam(c.req.param('transfer_id'));
    // The body is optional: a release without records may send none.
    const body = c.req.header('content-type') ? await parseBody(c, releaseBody) : {};
    const events = transferRecordEvents(body.records, c.get('principal').clientId);
    // The fingerprint is the path (the transfer id) only: records are metadata.
    return respondInOneRoundTrip(c, deps, {}, (idem) =>
      releaseTransfer(deps.db, idem, { transferId, events }),
    );
  });
  return app;
}

function transferIdParam(id: string): string {
  if (!TRANSFER_ID.test(id))
    throw new ProblemError(400, 'validation_failed', 'path.transfer_id: 1 to 128 visible ASCII characters');
  return id;
}
