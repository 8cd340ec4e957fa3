import { Hono } from 'hono';
import { z } from 'zod';
import { parseJsonBody } from '../../lib/json-body.js';
import { isUuid } from '../../lib/uuid.js';
import type { WalletEnv } from '../http/wallet-env.js';
import type { WalletServices } from '../services.js';
import { WalletError } from '../wallets/wallets.errors.js';
import { toWalletView } from '../wallets/wallets.service.js';
import type { WalletAction } from './administration.table.js';
import type { StatusChangeAnswer } from '../wallet-api.js';

const ACTIONS: readonly WalletAction[] = ['freeze', 'unfreeze', 'close'];

const statusChangeBody = z.strictObject({
  reason: z.string().trim().min(1).max(500),
  requested_by: z.string().trim().min(1).max(200),
});

export type AdministrationRoutesDeps = Pick<WalletServices, 'administration' | 'requireScope' | 'idempotent'>;

/**
 * `/internal/wallets/:id/{freeze,unfreeze,close}` (wallet:admin): the operator's reason and
 * identity are required and recorded with the change (docs/internal-api.md).
 */
export function createAdministrationRoutes({
  administration,
  requireScope,
  idempotent,
}: AdministrationRoutesDeps) {
  const admin = requireScope('wallet:admin');
  const app = new Hono<WalletEnv>();
  for (const action of ACTIONS) {
    app.post(`/:id/${action}`, admin, async (c) => {
      const id = c.req.param('id');
      const body = await parseJsonBody(c, statusChangeBody);
      return idempotent.respond(
        c,
        body,
        async (trx) =>
          isUuid(id)
            ? administration.changeStatus(trx, {
                walletId: id,
                action,
                reason: body.reason,
                requestedBy: body.requested_by,
                recordedBy: c.get('principal').clientId,
              })
            : WalletError.WalletNotFound,
        ({ wallet, change }) => ({
          status: 200,
          body: { ...toWalletView(wallet), status_changed: change !== null } satisfies StatusChangeAnswer,
        }),
      );
    });
  }
  return app;
}
