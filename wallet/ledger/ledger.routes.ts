import { Hono } from 'hono';
import { z } from 'zod';
import { amountSchema, currencySchema } from '../../lib/money.js';
import { parseJsonBody } from '../../lib/json-body.js';
import { isUuid } from '../../lib/uuid.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';
import { WalletError } from '../wallets/wallets.errors.js';
import { toWalletView } from '../wallets/wallets.service.js';
import { LedgerError } from './ledger.errors.js';
import type { MovementAnswer, TransactionAnswer } from '../wallet-api.js';

/** A free-text reference or reason: printable, bounded. */
const referenceSchema = z.string().trim().min(1).max(200);
const movementBody = z.object({ amount: amountSchema, currency: currencySchema, reference: referenceSchema });
const reverseBody = z.object({ reason: referenceSchema });

export type LedgerRoutesDeps = Pick<WalletServices, 'ledger' | 'requireScope' | 'idempotent'>;

/** Deposits, withdrawals and reversals. */
export function createLedgerRoutes({ ledger, requireScope, idempotent }: LedgerRoutesDeps) {
  const write = requireScope('wallet:write');
  const app = new Hono<WalletEnv>();

  for (const [path, op] of [
    ['deposits', 'deposit'],
    ['withdrawals', 'withdraw'],
  ] as const) {
    app.post(`/wallets/:id/${path}`, write, async (c) => {
      const id = c.req.param('id');
      const body = await parseJsonBody(c, movementBody);
      return idempotent.respond(
        c,
        body,
        async (trx) =>
          isUuid(id)
            ? ledger[op](trx, {
                walletId: id,
                amount: body.amount,
                currency: body.currency,
                reference: body.reference,
              })
            : WalletError.WalletNotFound,
        (r) => ({
          // A repeated deposit reference answers the original deposit: nothing new was created.
          status: 'repeated' in r && r.repeated ? 200 : 201,
          body: { transaction_id: r.transactionId, wallet: toWalletView(r.wallet) } satisfies MovementAnswer,
        }),
      );
    });
  }

  app.post('/transactions/:id/reverse', write, async (c) => {
    const id = c.req.param('id');
    const body = await parseJsonBody(c, reverseBody);
    return idempotent.respond(
      c,
      body,
      async (trx) => (isUuid(id) ? ledger.reverse(trx, id, body.reason) : LedgerError.TransactionNotFound),
      (r) => ({ status: 201, body: { transaction_id: r.transactionId } satisfies TransactionAnswer }),
    );
  });
  return app;
}
