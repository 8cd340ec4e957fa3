import { sql } from 'kysely';
import type { Db } from '../database.js';
import type { LedgerFunctionOutcome } from '../idempotency/idempotency.service.js';
import type { IdempotentRequest } from '../idempotency/idempotency.service.js';
import type { OutboxEvent } from '../outbox/outbox.repository.js';

/**
 * The two ledger operations of a withdrawal that differ from a transfer's, each ONE round trip
 * to a server-side function (migration 0030). Its release is the transfer's
 * (`velora_release_transfer` by id): the hold is of kind `transfer` under the withdrawal id.
 */

export interface ReserveWithdrawalInput {
  withdrawalId: string;
  userId: string;
  walletId: string;
  amount: bigint;
  currency: string;
  perTransferLimit: bigint;
  dailyLimit: bigint;
  holdTtlSeconds: number;
}

export async function reserveWithdrawal(
  db: Db,
  idem: IdempotentRequest,
  input: ReserveWithdrawalInput,
): Promise<LedgerFunctionOutcome> {
  const { rows } = await sql<LedgerFunctionOutcome>`
    select * from velora_reserve_withdrawal(${idem.scope}, ${idem.key}, ${idem.fingerprint},
      ${input.withdrawalId}, ${input.userId}::uuid, ${input.walletId}::uuid,
      ${input.amount.toString()}::bigint, ${input.currency}, ${input.perTransferLimit.toString()}::bigint,
      ${input.dailyLimit.toString()}::bigint, ${input.holdTtlSeconds}::integer)`.execute(db);
  return rows[0]!;
}

export async function captureWithdrawal(
  db: Db,
  idem: IdempotentRequest,
  input: { withdrawalId: string; providerReference: string; events: readonly OutboxEvent[] },
): Promise<LedgerFunctionOutcome> {
  const { rows } = await sql<LedgerFunctionOutcome>`
    select * from velora_capture_withdrawal(${idem.scope}, ${idem.key}, ${idem.fingerprint},
      ${input.withdrawalId}, ${input.providerReference}, ${JSON.stringify(
        input.events.map((e) => ({ event_id: e.eventId, collection: e.collection, document: e.document })),
      )}::jsonb)`.execute(db);
  return rows[0]!;
}
