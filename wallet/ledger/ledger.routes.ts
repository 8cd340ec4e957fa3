import { Hono } from 'hono';
import { z } from 'zod';
import { requireWalletScope } from '../wallet-scopes.js';
import { ProblemError } from '../../lib/problem.js';
import { amountSchema, currencySchema } from '../../lib/money.js';
import { respondIdempotently } from '../idempotency/idempotent-route.js';
import { isUuid, parseBody, parseQuery, referenceSchema } from '../request-input.js';
import type { WalletDeps, WalletEnv } from '../wallet-env.js';
import { WalletError } from '../wallets/wallets.errors.js';
import { toWalletView } from '../wallets/wallets.service.js';
import { LedgerError } from './ledger.errors.js';
import type { LedgerService } from './ledger.service.js';

const movementBody = z.object({ amount: amountSchema, currency: currencySchema, reference: referenceSchema });
const reverseBody = z.object({ reason: referenceSchema });
const volumeQuery = z.object({ currency: currencySchema, since: z.iso.datetime({ offset: true }) });

/** Deposits, withdrawals, reversals and the outgoing-volume query. */
export function createLedgerRoutes(deps: WalletDeps, ledger: LedgerService) {
  const read = requireWalletScope(deps.verifier, 'wallet:read');
  const write = requireWalletScope(deps.verifier, 'wallet:write');
  const app = new Hono<WalletEnv>();

  for (const [path, op] of [
    ['deposits', 'deposit'],
    ['withdrawals', 'withdraw'],
  ] as const) {
    app.post(`/wallets/:id/${path}`, write, async (c) => {
      const id = c.req.param('id');
      const body = await parseBody(c, movementBody);
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
          body: { transaction_id: r.transactionId, wallet: toWalletView(r.wallet) },
        }),
      );
    });
  }

  app.post('/transactions/:id/reverse', write, async (c) => {
    const id = c.req.param('id');
    const body = await parseBody(c, reverseBody);
    return respondIdempotently(
      c,
      deps,
      body,
      async (trx) => (isUuid(id) ? ledger.reverse(trx, id, body.reason) : LedgerError.TransactionNotFound),
      (r) => ({ status: 201, body: { transaction_id: r.transactionId } }),
    );
  });

  app.get('/users/:user_id/volume', read, async (c) => {
    const userId = c.req.param('user_id');
    const q = parseQuery(c, volumeQuery);
    if (!isUuid(userId)) throw new ProblemError(400, 'validation_failed', 'path.user_id: must be a UUID');
    const amount = await ledger.outgoingVolume(deps.db, userId, q.currency, new Date(q.since));
    return c.json({ amount: amount.toString(), currency: q.currency, since: q.since });
  });
  return app;
}
