import type { Migration } from 'kysely';
import * as ledger from './0001-ledger.js';
import * as sealedJournal from './0002-sealed-journal-and-transfer-functions.js';
import * as depositReferences from './0003-deposit-references.js';
import * as systemAccountShards from './0004-system-account-shards.js';
import * as transferClaims from './0005-transfer-claims.js';
import * as outboxDeadLetters from './0006-outbox-dead-letters.js';
import * as idempotencyOneWrite from './0007-idempotency-one-write.js';
import * as dropUnreadPostingIndex from './0008-drop-unread-posting-index.js';
import * as checkedTypesForFixedColumns from './0009-checked-types-for-fixed-columns.js';
import * as dailyLimitCounterAndTransferBundles from './0010-daily-limit-counter-and-transfer-bundles.js';
import * as fewerTableChecks from './0011-fewer-table-checks.js';
import * as reconciliationCheckpoints from './0020-reconciliation-checkpoints.js';
import * as walletStatusChanges from './0025-wallet-status-changes.js';
import * as transferReversals from './0026-transfer-reversals.js';
import * as payoutWithdrawals from './0030-payout-withdrawals.js';
import * as withdrawalsDailyLimitCounter from './0031-withdrawals-daily-limit-counter.js';
import * as oneDailyLimitCounterWrite from './0032-one-daily-limit-counter-write.js';
import * as ledgerCheaperPerPair from './0033-ledger-cheaper-per-pair.js';
import * as transferRecords from './0036-transfer-records.js';
import * as domainEventPublishing from './0038-domain-event-publishing.js';
import * as holdAndWalletEvents from './0039-hold-and-wallet-events.js';
import * as currencyInTheSchema from './0042-currency-in-the-schema.js';
import * as serviceRoleCannotRewriteTheJournal from './0043-service-role-cannot-rewrite-the-journal.js';
import * as journalHashVersion from './0044-journal-hash-version.js';
import * as outboxDocumentsOutOfLine from './0045-outbox-documents-out-of-line.js';
import * as reserveCapturesWithoutStepUp from './0046-reserve-captures-without-step-up.js';

/** Every migration of velora_wallet, in order. Names never change once released. */
export const walletMigrations: Record<string, Migration> = {
  '0001-ledger': ledger,
  '0002-sealed-journal-and-transfer-functions': sealedJournal,
  '0003-deposit-references': depositReferences,
  '0004-system-account-shards': systemAccountShards,
  '0005-transfer-claims': transferClaims,
  '0006-outbox-dead-letters': outboxDeadLetters,
  '0007-idempotency-one-write': idempotencyOneWrite,
  '0008-drop-unread-posting-index': dropUnreadPostingIndex,
  '0009-checked-types-for-fixed-columns': checkedTypesForFixedColumns,
  '0010-daily-limit-counter-and-transfer-bundles': dailyLimitCounterAndTransferBundles,
  '0011-fewer-table-checks': fewerTableChecks,
  '0020-reconciliation-checkpoints': reconciliationCheckpoints,
  '0025-wallet-status-changes': walletStatusChanges,
  '0026-transfer-reversals': transferReversals,
  '0030-payout-withdrawals': payoutWithdrawals,
  '0031-withdrawals-daily-limit-counter': withdrawalsDailyLimitCounter,
  '0032-one-daily-limit-counter-write': oneDailyLimitCounterWrite,
  '0033-ledger-cheaper-per-pair': ledgerCheaperPerPair,
  '0036-transfer-records': transferRecords,
  '0038-domain-event-publishing': domainEventPublishing,
  '0039-hold-and-wallet-events': holdAndWalletEvents,
  '0042-currency-in-the-schema': currencyInTheSchema,
  '0043-service-role-cannot-rewrite-the-journal': serviceRoleCannotRewriteTheJournal,
  '0044-journal-hash-version': journalHashVersion,
  '0045-outbox-documents-out-of-line': outboxDocumentsOutOfLine,
  '0046-reserve-captures-without-step-up': reserveCapturesWithoutStepUp,
};
