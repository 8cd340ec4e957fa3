import { Hono } from 'hono';
import { z } from 'zod';
import { amountSchema, currencySchema, limitSchema } from '../../lib/money.js';
import { ProblemError } from '../../lib/problem.js';
import { transferRecordEvents, transferRecordsSchema } from '../audit/audit-records.js';
import { isIdempotencyKey } from '../../lib/idempotency-key.js';
import { parseJsonBody } from '../../lib/json-body.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';
import { toHoldView } from '../holds/holds.service.js';
import { capturedAtReserveFingerprint } from './captured-at-reserve.js';
import type { TransferLedgerAnswer } from '../wallet-api.js';
import { holdTtlSecondsSchema } from '../holds/hold-ttl.js';

const reserveBody = z.object({
  user_id: z.uuid(),
  from_wallet_id: z.uuid(),
  to_wallet_id: z.uuid(),
  amount: amountSchema,
  currency: currencySchema,
  limits: z.object({ per_transfer: limitSchema, daily: limitSchema }),
  hold_ttl_seconds: holdTtlSecondsSchema,
  /**
   * Opt-in (migration 0046): capture in the same transaction, for a transfer the orchestrator
   * decided needs no step-up. `idempotency_key` is the capture's own key (a capture sent later
   * with it replays this capture); `records` are what the capture records.
   */
  capture: z
    .object({
      idempotency_key: z.string().refine(isIdempotencyKey, '1 to 255 visible ASCII characters'),
      records: transferRecordsSchema,
    })
    .optional(),
});
const releaseBody = z.object({ records: transferRecordsSchema.optional() }).default({});

const TRANSFER_ID = /^[\x21-\x7E]{1,128}$/;

export type TransferRoutesDeps = Pick<WalletServices, 'transfers' | 'requireScope' | 'idempotent'>;

/**
 * `/internal/transfers/:transfer_id/{reserve,release}`: the transfer's first and (on a failure
 * path) last WalletService call, each one PostgreSQL round trip (docs/internal-api.md). A reserve
 * with `capture` is also its last on the happy path: it captures in the same transaction.
 */
export function createTransferRoutes({ transfers, requireScope, idempotent }: TransferRoutesDeps) {
  const write = requireScope('wallet:write');
  const read = requireScope('wallet:read');
  const app = new Hono<WalletEnv>();

  // Read-only: the orchestrator checks the ledger here before an operator closes a transfer
  // whose release found its hold captured (resolveAsCompleted).
  app.get('/:transfer_id', read, async (c) => {
    const state = await transfers.ledgerState(transferIdParam(c.req.param('transfer_id')));
    return c.json({
      hold: state.hold ? toHoldView(state.hold) : null,
      capture: state.capture,
    } satisfies TransferLedgerAnswer);
  });

  app.post('/:transfer_id/reserve', write, async (c) => {
    const transferId = transferIdParam(c.req.param('transfer_id'));
    const body = await parseJsonBody(c, reserveBody);
    // Version 2 leaves the user's limits out: they are read from AuthService when the request is
    // built, so a reserve re-sent after a limits change (a workflow reset) is still the same
    // transfer; the limits decide whether it passes, not which transfer it is.
    const { limits: _limits, capture, ...transfer } = body;
    const input = {
      transferId,
      userId: body.user_id,
      fromWalletId: body.from_wallet_id,
      toWalletId: body.to_wallet_id,
      amount: body.amount,
      currency: body.currency,
      perTransferLimit: body.limits.per_transfer,
      dailyLimit: body.limits.daily,
      holdTtlSeconds: body.hold_ttl_seconds,
    };
    if (capture) {
      // One call, one transaction: answers `captured: true` with the capture's transaction. The
      // fingerprint is the transfer and the capture's key; the records are metadata.
      const events = transferRecordEvents(capture.records, c.get('principal').clientId);
      const captureIdem = {
        key: capture.idempotency_key,
        fingerprint: capturedAtReserveFingerprint(body.to_wallet_id, body.amount),
      };
      return idempotent.respondInOneRoundTrip(
        c,
        { ...transfer, capture: { idempotency_key: capture.idempotency_key } },
        (idem) => transfers.reserveAndCapture(idem, captureIdem, { ...input, events }),
      );
    }
    return idempotent.respondInOneRoundTrip(c, transfer, (idem) => transfers.reserve(idem, input), {
      version: 2,
      version1Body: body,
    });
  });

  app.post('/:transfer_id/release', write, async (c) => {
    const transferId = transferIdParam(c.req.param('transfer_id'));
    // The body is optional: a release without records may send none.
    const body = c.req.header('content-type') ? await parseJsonBody(c, releaseBody) : {};
    const events = transferRecordEvents(body.records, c.get('principal').clientId);
    // The fingerprint is the path (the transfer id) only: records are metadata.
    return idempotent.respondInOneRoundTrip(c, {}, (idem) => transfers.release(idem, { transferId, events }));
  });
  return app;
}

function transferIdParam(id: string): string {
  if (!TRANSFER_ID.test(id))
    throw new ProblemError(400, 'validation_failed', 'path.transfer_id: 1 to 128 visible ASCII characters');
  return id;
}
