import type { Kysely, Transaction } from 'kysely';
import type { WalletStatusChangesTable } from './administration/administration.table.js';
import type { HoldsTable } from './holds/holds.table.js';
import type { IdempotencyKeysTable } from './idempotency/idempotency.table.js';
import type {
  DepositReferencesTable,
  JournalSealsTable,
  JournalTransactionsTable,
  JournalUnsealedTable,
  PostingsTable,
} from './ledger/ledger.table.js';
import type { OutboxDeadLettersTable, OutboxTable } from './outbox/outbox.table.js';
import type { TransferReversalsTable } from './reversals/reversals.table.js';
import type {
  TransferArchiveCheckpointTable,
  TransferRecordsTable,
} from './transfer-records/transfer-records.table.js';
import type { WalletsTable } from './wallets/wallets.table.js';

/** Every table of velora_wallet. */
export interface Database {
  wallets: WalletsTable;
  journal_transactions: JournalTransactionsTable;
  journal_seals: JournalSealsTable;
  journal_unsealed: JournalUnsealedTable;
  deposit_references: DepositReferencesTable;
  postings: PostingsTable;
  holds: HoldsTable;
  idempotency_keys: IdempotencyKeysTable;
  outbox: OutboxTable;
  outbox_dead_letters: OutboxDeadLettersTable;
  wallet_status_changes: WalletStatusChangesTable;
  transfer_reversals: TransferReversalsTable;
  transfer_records: TransferRecordsTable;
  transfer_archive_checkpoint: TransferArchiveCheckpointTable;
}

/** A handle repositories accept: the pool or an open transaction (the caller owns it). */
export type Db = Kysely<Database> | Transaction<Database>;
