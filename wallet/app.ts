import type { Registry } from 'prom-client';
import { sql } from 'kysely';
import { createServiceApp, probe } from '../lib/service-app.js';
import { createAdministrationRoutes } from './administration/administration.routes.js';
import { createAdministrationService } from './administration/administration.service.js';
import { createAuditRoutes } from './audit/audit.routes.js';
import { createAuditService } from './audit/audit.service.js';
import type { EventPublisher } from './events/event-publisher.js';
import { createHistoryRoutes } from './history/history.routes.js';
import { createHistoryService } from './history/history.service.js';
import { createHoldRoutes } from './holds/holds.routes.js';
import { createHoldService } from './holds/holds.service.js';
import { createLedgerRoutes } from './ledger/ledger.routes.js';
import { createLedgerService } from './ledger/ledger.service.js';
import { createTransferRoutes } from './transfers/transfers.routes.js';
import { createTransferService } from './transfers/transfers.service.js';
import { createReconciliationRoutes } from './reconciliation/reconciliation.routes.js';
import { createReconciliationService } from './reconciliation/reconciliation.service.js';
import { createReversalRoutes } from './reversals/reversals.routes.js';
import { createReversalService } from './reversals/reversals.service.js';
import { createTransferRecordRoutes } from './transfer-records/transfer-records.routes.js';
import { createTransferRecordService } from './transfer-records/transfer-records.service.js';
import type { WalletDeps, WalletEnv } from './http/wallet-env.js';
import { createWalletRoutes } from './wallets/wallets.routes.js';
import { createWalletService } from './wallets/wallets.service.js';
import { createWithdrawalRoutes } from './withdrawals/withdrawals.routes.js';
import { createWithdrawalService } from './withdrawals/withdrawals.service.js';

export type { WalletDeps } from './http/wallet-env.js';

/**
 * WalletService's HTTP app: every `/internal` route needs a service token with the route's
 * scope, and every mutating one an `Idempotency-Key`. Pass `registry` to expose relay metrics
 * on the same `/metrics`.
 */
export function createWalletApp(
  deps: WalletDeps & { registry?: Registry; events?: Pick<EventPublisher, 'connected'> },
) {
  const { app, registry } = createServiceApp<WalletEnv>({
    service: 'wallet',
    log: deps.log,
    registry: deps.registry,
    // Ready means able to move money: PostgreSQL holds the books. MongoDB only serves history;
    // the outbox keeps its entries until it is back, so its loss is reported as a degradation.
    readiness: async () => ({ postgres: await probe(() => sql`select 1`.execute(deps.db)) }),
    degradable: async () => ({
      mongo: { up: await probe(() => deps.mongo.command({ ping: 1 })), feature: 'history' },
      // Domain events wait in the outbox while RabbitMQ is away (docs/events.md).
      ...(deps.events ? { rabbitmq: { up: deps.events.connected(), feature: 'events' } } : {}),
    }),
  });
  const wallets = createWalletService();
  const ledger = createLedgerService();
  const holds = createHoldService(deps);
  const history = createHistoryService(deps);
  const reconciliation = createReconciliationService(deps);
  const audit = createAuditService();
  const administration = createAdministrationService();
  const reversals = createReversalService();
  const transfers = createTransferService(deps);
  const withdrawals = createWithdrawalService(deps);
  const transferRecords = createTransferRecordService();

  app.route('/internal/wallets', createWalletRoutes(deps, wallets));
  app.route('/internal/wallets', createAdministrationRoutes(deps, administration));
  app.route('/internal', createHistoryRoutes(deps, wallets, history));
  app.route('/internal', createLedgerRoutes(deps, ledger));
  app.route('/internal/holds', createHoldRoutes(deps, holds, transfers));
  app.route('/internal/transfers', createTransferRoutes(deps, transfers));
  app.route('/internal/transfers', createReversalRoutes(deps, reversals));
  app.route('/internal/withdrawals', createWithdrawalRoutes(deps, withdrawals));
  app.route('/internal/transfer-records', createTransferRecordRoutes(deps, transferRecords));
  app.route('/internal', createAuditRoutes(deps, audit));
  app.route('/internal', createReconciliationRoutes(deps, reconciliation));
  return {
    app,
    registry,
    services: {
      wallets,
      ledger,
      holds,
      history,
      reconciliation,
      audit,
      administration,
      reversals,
      transfers,
      withdrawals,
      transferRecords,
    },
  };
}
