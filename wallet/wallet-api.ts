/**
 * The wire types of WalletService's internal API (docs/internal-api.md), declared once by the
 * service that produces them: its routes render exactly these, and callers (the orchestrator's
 * activities, the gateway) import them as types instead of re-declaring the shapes they read.
 * Amounts are strings of digits (minor units), instants ISO 8601 strings.
 */
import type { HoldView } from './holds/holds.service.js';
import type { ReversalView } from './reversals/reversals.service.js';
import type { TransferRecordInput } from './transfer-records/transfer-records.routes.js';
import type { TransferLedgerState } from './transfers/transfers.repository.js';
import type { WalletView } from './wallets/wallets.service.js';

export type { WalletView as Wallet } from './wallets/wallets.service.js';
export type { HoldView as Hold } from './holds/holds.service.js';
export type { ReversalView as Reversal } from './reversals/reversals.service.js';
export type { EntryView as Entry, HistoryPage as EntryPage } from './history/history.service.js';
export type {
  ArchiveCheckpoint,
  TransferRecordInput as TransferRecord,
} from './transfer-records/transfer-records.routes.js';

/**
 * `POST /internal/transfers/:transfer_id/reserve`: the hold; with `capture` in the request, also
 * the capture's transaction (`captured: true`).
 */
export interface ReserveAnswer {
  hold: HoldView;
  captured?: true;
  transaction_id?: string;
}

/** `POST /internal/holds/:id/capture`: the captured hold and the capture's journal transaction. */
export interface CaptureAnswer {
  hold: HoldView;
  transaction_id: string;
}

/** `POST /internal/transfers/:transfer_id/release`: whether a hold was released, and which. */
export interface ReleaseAnswer {
  released: boolean;
  hold: HoldView | null;
}

/** `GET /internal/wallets?user_id=` and `?ids=`: the wallets found. */
export interface WalletList {
  items: WalletView[];
}

/** `POST /internal/wallets/:id/{freeze,unfreeze,close}`: the wallet after it, and whether it changed. */
export interface StatusChangeAnswer extends WalletView {
  status_changed: boolean;
}

/** `GET /internal/transfer-records?initiated_by=`: a user's records and how far the archive reaches. */
export interface TransferRecordList {
  items: TransferRecordInput[];
  archived_through: string;
}

/**
 * `GET /internal/transfers/:transfer_id`: the transfer's hold and capture as the journal has them
 * (the orchestrator's check before an operator closes a transfer as completed).
 */
export interface TransferLedgerAnswer {
  hold: HoldView | null;
  capture: TransferLedgerState['capture'];
}

/**
 * `POST /internal/wallets/:id/deposits` and `…/withdrawals`: the movement's journal transaction and
 * the wallet after it.
 */
export interface MovementAnswer {
  transaction_id: string;
  wallet: WalletView;
}

/**
 * `POST /internal/withdrawals/:withdrawal_id/capture` and `POST /internal/transactions/:id/reverse`:
 * the journal transaction written.
 */
export interface TransactionAnswer {
  transaction_id: string;
}

/** `POST /internal/transfers/:transfer_id/reversal/hold` and `…/reversal/capture`. */
export interface ReversalAnswer {
  reversal: ReversalView;
}

/** `POST /internal/transfers/:transfer_id/reversal/release`: the saga's undo of a reversal. */
export interface ReversalReleaseAnswer {
  released: boolean;
  reversal: ReversalView | null;
}

/** `POST /internal/holds/expire`: how many due holds this sweep expired. */
export interface HoldExpiryAnswer {
  expired: number;
}
