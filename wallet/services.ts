import type { Kysely } from 'kysely';
import type { Db as MongoDb } from 'mongodb';
import type { AccessTokenVerifier } from '../lib/jwt-verifier.js';
import type { Logger } from '../lib/logger.js';
import {
  createAdministrationService,
  type AdministrationService,
} from './administration/administration.service.js';
import { createAuditService, type AuditService } from './audit/audit.service.js';
import type { Database } from './database.js';
import { createHistoryService, type HistoryService } from './history/history.service.js';
import { createHoldService, type HoldService } from './holds/holds.service.js';
import { createIdempotentResponder, type IdempotentResponder } from './http/idempotent-route.js';
import { requireWalletScope, type RequireScope } from './http/wallet-scopes.js';
import { createLedgerService, type LedgerService } from './ledger/ledger.service.js';
import {
  createReconciliationService,
  type ReconciliationService,
} from './reconciliation/reconciliation.service.js';
import { createReversalService, type ReversalService } from './reversals/reversals.service.js';
import {
  createTransferRecordService,
  type TransferRecordService,
} from './transfer-records/transfer-records.service.js';
import { createTransferService, type TransferService } from './transfers/transfers.service.js';
import { createWalletService, type WalletService } from './wallets/wallets.service.js';
import { createWithdrawalService, type WithdrawalService } from './withdrawals/withdrawals.service.js';

/** What WalletService is built from; built once in main.ts (or a test) and passed to createWalletApp. */
export interface WalletDeps {
  db: Kysely<Database>;
  mongo: MongoDb;
  verifier: AccessTokenVerifier;
  log: Logger;
  /** Called after a transaction that queued outbox rows committed (wakes the relay). */
  onCommitted?: () => void;
}

/**
 * Every WalletService component, built once from its dependencies. Each route factory takes the
 * few it uses (`Pick<WalletServices, …>`), as auth's do from `AuthServices`.
 */
export interface WalletServices {
  /** For reads a route owns: the service methods take the database so their caller owns the transaction. */
  db: Kysely<Database>;
  log: Logger;
  /** The service-token check of a route, with its scope. */
  requireScope: RequireScope;
  /** How a mutating route answers at most once per `Idempotency-Key`. */
  idempotent: IdempotentResponder;
  wallets: WalletService;
  ledger: LedgerService;
  holds: HoldService;
  history: HistoryService;
  reconciliation: ReconciliationService;
  audit: AuditService;
  administration: AdministrationService;
  reversals: ReversalService;
  transfers: TransferService;
  withdrawals: WithdrawalService;
  transferRecords: TransferRecordService;
}

export function createWalletServices(deps: WalletDeps): WalletServices {
  return {
    db: deps.db,
    log: deps.log,
    requireScope: (scope) => requireWalletScope(deps.verifier, scope),
    idempotent: createIdempotentResponder(deps),
    wallets: createWalletService(),
    ledger: createLedgerService(),
    holds: createHoldService(deps),
    history: createHistoryService(deps),
    reconciliation: createReconciliationService(deps),
    audit: createAuditService(),
    administration: createAdministrationService(),
    reversals: createReversalService(),
    transfers: createTransferService(deps),
    withdrawals: createWithdrawalService(deps),
    transferRecords: createTransferRecordService(),
  };
}
