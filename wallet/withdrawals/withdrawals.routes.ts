import { Hono } from 'hono';
import { z } from 'zod';
import { amountSchema, currencySchema, limitSchema } from '../../lib/money.js';
import { ProblemError } from '../../lib/problem.js';
import { transferRecordEvents, transferRecordsSchema } from '../audit/audit-records.js';
import { parseJsonBody } from '../../lib/json-body.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';
import { holdTtlSecondsSchema } from '../holds/hold-ttl.js';

const reserveBody = z.object({
  user_id: z.uuid(),
  wallet_id: z.uuid(),
  amount: amountSchema,
  currency: currencySchema,
  limits: z.object({ per_transfer: limitSchema, daily: limitSchema }),
  hold_ttl_seconds: holdTtlSecondsSchema,
});
const captureBody = z.object({
  /** The payout provider's id of the payout: the journal transaction's reference. */
  provider_reference: z.string().regex(/^[\x21-\x7E]{1,128}$/, '1 to 128 visible ASCII characters'),
  records: transferRecordsSchema.optional(),
});

const WITHDRAWAL_ID = /^[\x21-\x7E]{1,128}$/;

export type WithdrawalRoutesDeps = Pick<WalletServices, 'withdrawals' | 'requireScope' | 'idempotent'>;

/**
 * `/internal/withdrawals/:withdrawal_id/{reserve,capture}`: a withdrawal's hold on the user's
 * wallet, and its capture into the `payouts` system account once the provider paid out
 * (docs/internal-api.md). The release is `/internal/transfers/:id/release` with the withdrawal id.
 */
export function createWithdrawalRoutes({ withdrawals, requireScope, idempotent }: WithdrawalRoutesDeps) {
  const write = requireScope('wallet:write');
  const app = new Hono<WalletEnv>();

  app.post('/:withdrawal_id/reserve', write, async (c) => {
    const withdrawalId = withdrawalIdParam(c.req.param('withdrawal_id'));
    const body = await parseJsonBody(c, reserveBody);
    return idempotent.respondInOneRoundTrip(c, body, (idem) =>
      withdrawals.reserve(idem, {
        withdrawalId,
        userId: body.user_id,
        walletId: body.wallet_id,
        amount: body.amount,
        currency: body.currency,
        perTransferLimit: body.limits.per_transfer,
        dailyLimit: body.limits.daily,
        holdTtlSeconds: body.hold_ttl_seconds,
      }),
    );
  });

  app.post('/:withdrawal_id/capture', write, async (c) => {
    const withdrawalId = withdrawalIdParam(c.req.param('withdrawal_id'));
    const { records, provider_reference } = await parseJsonBody(c, captureBody);
    const events = transferRecordEvents(records, c.get('principal').clientId);
    // Records are metadata, outside the fingerprint (as for a transfer's capture).
    return idempotent.respondInOneRoundTrip(c, { provider_reference }, (idem) =>
      withdrawals.capture(idem, { withdrawalId, providerReference: provider_reference, events }),
    );
  });
  return app;
}

function withdrawalIdParam(id: string): string {
  if (!WITHDRAWAL_ID.test(id))
    throw new ProblemError(400, 'validation_failed', 'path.withdrawal_id: 1 to 128 visible ASCII characters');
  return id;
}
