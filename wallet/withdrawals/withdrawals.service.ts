import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { IdempotentRequest, LedgerFunctionOutcome } from '../idempotency/idempotency.service.js';
import type { OutboxEvent } from '../outbox/outbox.repository.js';
import {
  captureWithdrawal,
  reserveWithdrawal,
  type ReserveWithdrawalInput,
} from './withdrawals.repository.js';

/**
 * A withdrawal's steps on the books, each one ledger function that stores its own idempotency
 * record. The release is the transfer's (TransferService.release with the withdrawal id).
 */
export interface WithdrawalService {
  /** Authorizes and holds the amount on the user's wallet. */
  reserve(idem: IdempotentRequest, input: ReserveWithdrawalInput): Promise<LedgerFunctionOutcome>;
  /** Moves the held amount into `payouts:<ccy>` once the provider paid out. */
  capture(
    idem: IdempotentRequest,
    input: { withdrawalId: string; providerReference: string; events: readonly OutboxEvent[] },
  ): Promise<LedgerFunctionOutcome>;
}

export function createWithdrawalService(deps: { db: Kysely<Database> }): WithdrawalService {
  const { db } = deps;
  return {
    reserve: (idem, input) => reserveWithdrawal(db, idem, input),
    capture: (idem, input) => captureWithdrawal(db, idem, input),
  };
}
