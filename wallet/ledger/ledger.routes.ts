import { Hono } from 'hono';
import { z } from 'zod';
import { requireWalletScope } from '../http/wallet-scopes.js';
import { amountSchema, currencySchema } from '../../lib/money.js';
import { respondIdempotently } from '../http/idempotent-route.js';
import { parseJsonBody } from '../../lib/json-body.js';
import { isUuid } from '../../lib/uuid.js';
import type { WalletDeps, WalletEnv } from '../http/wallet-env.js';
import { WalletError } from '../wallets/wallets.errors.js';
import { toWalletView } from '../wallets/wallets.service.js';
import { LedgerError } from './ledger.errors.js';
import type { LedgerService } from './ledger.service.js';
import type { MovementAnswer, TransactionAnswer } from '../wallet-api.js';

/** A free-text reference or reason: printable, bounded. */
const referenceSchema = z.string().trim().min(1).max(200);
const movementBody = z.object({ amount: amountSchema, currency: currencySchema, reference: referenceSchema });
const reverseBody = z.object({ reason: referenceSchema });

/** Deposits, withdrawals and reversals. */
export function createLedgerRoutes(deps: WalletDeps, ledger: LedgerService) {
  const write = requireWalletScope(deps.verifier, 'wallet:write');
  const app = new Hono<WalletEnv>();

  for (const [path, op] of [
    ['deposits', 'deposit'],
    ['withdrawals', 'withdraw'],
  ] as const) {
    app.post(`/wallets/:id/${path}`, write, async (c) => {
      const id = c.req.param('id');
      const body = await parseJsonBody(c, movementBody);
      return respondIdempotently(
        c,
        deps,
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
    return respondIdempotently(
      c,
      deps,
      body,
      async (trx) => (isUuid(id) ? ledger.reverse(trx, id, body.reason) : LedgerError.TransactionNotFound),
      (r) => ({ status: 201, body: { transaction_id: r.transactionId } satisfies TransactionAnswer }),
    );
  });
  return app;
}
