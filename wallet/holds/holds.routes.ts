import { Hono } from 'hono';
import { z } from 'zod';
import { requireWalletScope } from '../wallet-scopes.js';
import { amountSchema } from '../../lib/money.js';
import { transferRecordEvents, transferRecordsSchema } from '../audit/audit-records.js';
import { problemError, respondInOneRoundTrip } from '../idempotency/idempotent-route.js';
import { captureHold } from '../transfers/transfers.repository.js';
import { isUuid, parseBody } from '../request-input.js';
import type { WalletDeps, WalletEnv } from '../wallet-env.js';
import { HoldError } from './holds.errors.js';
import type { HoldService } from './holds.service.js';

const captureBody = z.object({
  to_wallet_id: z.uuid(),
  amount: amountSchema.optional(),
  records: transferRecordsSchema.optional(),
});

/**
 * `/internal/holds`: capture into a transfer, and the expiry sweep. Holds are placed by a
 * transfer's reserve and released by its release (`/internal/transfers/:transfer_id/…`).
 */
export function createHoldRoutes(deps: WalletDeps, holds: HoldService) {
  const write = requireWalletScope(deps.verifier, 'wallet:write');
  const app = new Hono<WalletEnv>();

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
  return app;
}
