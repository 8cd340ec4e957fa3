import { Hono } from 'hono';
import { z } from 'zod';
import { amountSchema } from '../../lib/money.js';
import { transferRecordEvents, transferRecordsSchema } from '../audit/audit-records.js';
import { problemError } from '../http/idempotent-route.js';
import type { IdempotentRequest } from '../idempotency/idempotency.service.js';
import { capturedAtReserveFingerprint } from '../transfers/captured-at-reserve.js';
import { parseJsonBody } from '../../lib/json-body.js';
import { isUuid } from '../../lib/uuid.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';
import { HoldError } from './holds.errors.js';
import type { HoldExpiryAnswer } from '../wallet-api.js';

const captureBody = z.object({
  to_wallet_id: z.uuid(),
  amount: amountSchema.optional(),
  records: transferRecordsSchema.optional(),
});

export type HoldRoutesDeps = Pick<WalletServices, 'holds' | 'transfers' | 'requireScope' | 'idempotent'>;

/**
 * `/internal/holds`: capture into a transfer, and the expiry sweep. Holds are placed by a
 * transfer's reserve and released by its release (`/internal/transfers/:transfer_id/…`).
 */
export function createHoldRoutes({ holds, transfers, requireScope, idempotent }: HoldRoutesDeps) {
  const write = requireScope('wallet:write');
  const app = new Hono<WalletEnv>();

  // Naturally idempotent (it only expires what is due), so no Idempotency-Key is needed: the
  // orchestrator's schedule calls it every minute.
  app.post('/expire', write, async (c) => {
    const expired = await holds.expireDue();
    return c.json({ expired } satisfies HoldExpiryAnswer);
  });

  app.post('/:id/capture', write, async (c) => {
    const id = c.req.param('id');
    const { records, ...money } = await parseJsonBody(c, captureBody);
    if (!isUuid(id)) throw problemError(HoldError.HoldNotFound);
    const events = transferRecordEvents(records, c.get('principal').clientId);
    const capture = (idem: IdempotentRequest) =>
      transfers.capture(idem, {
        holdId: id,
        toWalletId: money.to_wallet_id,
        amount: money.amount,
        events,
      });
    // One round trip (velora_capture_hold); records are metadata, outside the fingerprint.
    return idempotent.respondInOneRoundTrip(c, money, async (idem) => {
      const first = await capture(idem);
      if (first.outcome !== 'mismatch' || money.amount === undefined) return first;
      // The key may hold the capture a reserve made at once (migration 0046): the same success,
      // if it is this hold's. A second lookup only, on a path that is otherwise a refusal.
      const atReserve = await capture({
        ...idem,
        fingerprint: capturedAtReserveFingerprint(money.to_wallet_id, money.amount),
      });
      const hold = (atReserve.response as { hold?: { id?: unknown } }).hold;
      return atReserve.outcome === 'replayed' && hold?.id === id ? atReserve : first;
    });
  });
  return app;
}
