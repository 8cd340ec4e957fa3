import { Hono } from 'hono';
import { z } from 'zod';
import { requireWalletScope } from '../wallet-scopes.js';
import { amountSchema, currencySchema } from '../../lib/money.js';
import { transferRecordEvents, transferRecordsSchema } from '../audit/audit-records.js';
import { problemError, respondIdempotently, respondInOneRoundTrip } from '../idempotency/idempotent-route.js';
import { captureHold } from '../transfers/transfers.repository.js';
import { isUuid, parseBody } from '../request-input.js';
import type { WalletDeps, WalletEnv } from '../wallet-env.js';
import { HoldError } from './holds.errors.js';
import { toHoldView, type HoldService } from './holds.service.js';

const createBody = z.object({
  wallet_id: z.uuid(),
  amount: amountSchema,
  currency: currencySchema,
  transfer_id: z.string().min(1).max(128),
  // Checked against the clock inside the idempotent work, not here: a replay of the same
  // request after expires_at has passed must still return the stored hold.
  expires_at: z.iso.datetime({ offset: true }).optional(),
});
const captureBody = z.object({
  to_wallet_id: z.uuid(),
  amount: amountSchema.optional(),
  records: transferRecordsSchema.optional(),
});

/** `/internal/holds`: reserve, capture into a transfer, release, expire. */
export function createHoldRoutes(deps: WalletDeps, holds: HoldService) {
  const write = requireWalletScope(deps.verifier, 'wallet:write');
  const app = new Hono<WalletEnv>();

  app.post('/', write, async (c) => {
    const body = await parseBody(c, createBody);
    return respondIdempotently(
      c,
      deps,
      body,
      async (trx) =>
        holds.create(trx, {
          walletId: body.wallet_id,
          amount: body.amount,
          currency: body.currency,
          transferId: body.transfer_id,
          expiresAt: body.expires_at
            ? new Date(body.expires_at)
            : new Date(Date.now() + deps.holdTtlSeconds * 1000),
        }),
      (hold) => ({ status: 201, body: toHoldView(hold) }),
    );
  });

  // Naturally idempotent (it only expires what is due), so no Idempotency-Key is needed: the
  // orchestrator's schedule calls it every minute.
  app.post('/expire', write, async (c) => {
    const expired = await holds.expireDue();
    return c.json({ expired });
  });

  app.post('/:id/capture', write, async (c) => {
    const id = c.req.param('id');
    const { records, ...money } = await parseBody(c, captureBody);
    if (!isUuid(id)) throw problemError(HoldError.HoldNotFound);
    const events = transferRecordEvents(records, c.get('principal').clientId);
    // One round trip (velora_capture_hold); records are metadata, outside the fingerprint.
    return respondInOneRoundTrip(c, deps, money, (idem) =>
      captureHold(deps.db, idem, {
        holdId: id,
        toWalletId: money.to_wallet_id,
        amount: money.amount,
        events,
      }),
    );
  });

  app.post('/:id/release', write, async (c) => {
    const id = c.req.param('id');
    return respondIdempotently(
      c,
      deps,
      {},
      async (trx) => (isUuid(id) ? holds.release(trx, id) : HoldError.HoldNotFound),
      (hold) => ({ status: 200, body: toHoldView(hold) }),
    );
  });
  return app;
}
