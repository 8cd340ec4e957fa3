import type { Registry } from 'prom-client';
import { sql } from 'kysely';
import { createServiceApp, probe } from '../lib/service-app.js';
import { createAdministrationRoutes } from './administration/administration.routes.js';
import { createAuditRoutes } from './audit/audit.routes.js';
import type { EventPublisher } from './events/event-publisher.js';
import { createHistoryRoutes } from './history/history.routes.js';
import { createHoldRoutes } from './holds/holds.routes.js';
import type { WalletEnv } from './http/wallet-env.js';
import { createLedgerRoutes } from './ledger/ledger.routes.js';
import { createReconciliationRoutes } from './reconciliation/reconciliation.routes.js';
import { createReversalRoutes } from './reversals/reversals.routes.js';
import { createWalletServices, type WalletDeps } from './services.js';
import { createTransferRecordRoutes } from './transfer-records/transfer-records.routes.js';
import { createTransferRoutes } from './transfers/transfers.routes.js';
import { createWalletRoutes } from './wallets/wallets.routes.js';
import { createWithdrawalRoutes } from './withdrawals/withdrawals.routes.js';

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
  const services = createWalletServices(deps);
  app.route('/internal/wallets', createWalletRoutes(services));
  app.route('/internal/wallets', createAdministrationRoutes(services));
  app.route('/internal', createHistoryRoutes(services));
  app.route('/internal', createLedgerRoutes(services));
  app.route('/internal/holds', createHoldRoutes(services));
  app.route('/internal/transfers', createTransferRoutes(services));
  app.route('/internal/transfers', createReversalRoutes(services));
  app.route('/internal/withdrawals', createWithdrawalRoutes(services));
  app.route('/internal/transfer-records', createTransferRecordRoutes(services));
  app.route('/internal', createAuditRoutes(services));
  app.route('/internal', createReconciliationRoutes(services));
  return { app, registry, services };
}
