import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { IdempotentRequest, LedgerFunctionOutcome } from '../idempotency/idempotency.service.js';
import type { OutboxEvent } from '../outbox/outbox.repository.js';
import {
  captureHold,
  releaseTransfer,
  reserveAndCaptureTransfer,
  reserveTransfer,
  transferLedgerState,
  type ReserveInput,
  type TransferLedgerState,
} from './transfers.repository.js';

/**
 * A transfer's steps on the books. Each is one server-side ledger function (one PostgreSQL round
 * trip) that checks and stores its idempotency record itself, so each answers the function's
 * outcome for the route to render.
 */
export interface TransferService {
  /** The transfer's hold and capture as the journal has them (read-only). */
  ledgerState(transferId: string): Promise<TransferLedgerState>;
  /** Authorizes and places the hold. */
  reserve(idem: IdempotentRequest, input: ReserveInput): Promise<LedgerFunctionOutcome>;
  /** Reserve and capture in one transaction (migration 0046): a transfer without step-up. */
  reserveAndCapture(
    idem: IdempotentRequest,
    capture: { key: string; fingerprint: string },
    input: ReserveInput & { events: readonly OutboxEvent[] },
  ): Promise<LedgerFunctionOutcome>;
  /** Captures a hold into the destination (the pivot). */
  capture(
    idem: IdempotentRequest,
    input: { holdId: string; toWalletId: string; amount?: bigint; events: readonly OutboxEvent[] },
  ): Promise<LedgerFunctionOutcome>;
  /** Releases the transfer's active hold, if any. */
  release(
    idem: IdempotentRequest,
    input: { transferId: string; events: readonly OutboxEvent[] },
  ): Promise<LedgerFunctionOutcome>;
}

export function createTransferService(deps: { db: Kysely<Database> }): TransferService {
  const { db } = deps;
  return {
    ledgerState: (transferId) => transferLedgerState(db, transferId),
    reserve: (idem, input) => reserveTransfer(db, idem, input),
    reserveAndCapture: (idem, capture, input) => reserveAndCaptureTransfer(db, idem, capture, input),
    capture: (idem, input) => captureHold(db, idem, input),
    release: (idem, input) => releaseTransfer(db, idem, input),
  };
}
