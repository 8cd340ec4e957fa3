import { sql } from 'kysely';
import type { Db } from '../database.js';
import type { HoldRow } from '../holds/holds.table.js';
import type { IdempotentRequest } from '../idempotency/idempotency.service.js';
import type { LedgerFunctionOutcome } from '../idempotency/idempotent-route.js';
import type { OutboxEvent } from '../outbox/outbox.repository.js';

/**
 * The three ledger operations of a transfer, each ONE round trip to PostgreSQL: a server-side
 * function (migration 0002) that checks and stores the idempotency record, does the work and
 * queues its outbox rows in one transaction. The SQL signatures are in docs/wallet.md.
 */

export interface ReserveInput {
  transferId: string;
  userId: string;
  fromWalletId: string;
  toWalletId: string;
  amount: bigint;
  currency: string;
  perTransferLimit: bigint;
  dailyLimit: bigint;
  holdTtlSeconds: number;
}

export async function reserveTransfer(
  db: Db,
  idem: IdempotentRequest,
  input: ReserveInput,
): Promise<LedgerFunctionOutcome> {
  const { rows } = await sql<LedgerFunctionOutcome>`
    select * from velora_reserve_transfer(${idem.scope}, ${idem.key}, ${idem.fingerprint},
      ${input.transferId}, ${input.userId}::uuid, ${input.fromWalletId}::uuid, ${input.toWalletId}::uuid,
      ${input.amount.toString()}::bigint, ${input.currency}, ${input.perTransferLimit.toString()}::bigint,
      ${input.dailyLimit.toString()}::bigint, ${input.holdTtlSeconds}::integer)`.execute(db);
  return rows[0]!;
}

export async function captureHold(
  db: Db,
  idem: IdempotentRequest,
  input: { holdId: string; toWalletId: string; amount?: bigint; events: readonly OutboxEvent[] },
): Promise<LedgerFunctionOutcome> {
  const { rows } = await sql<LedgerFunctionOutcome>`
    select * from velora_capture_hold(${idem.scope}, ${idem.key}, ${idem.fingerprint},
      ${input.holdId}::uuid, ${input.toWalletId}::uuid, ${input.amount?.toString() ?? null}::bigint,
      ${outboxJson(input.events)}::jsonb)`.execute(db);
  return rows[0]!;
}

export async function releaseTransfer(
  db: Db,
  idem: IdempotentRequest,
  input: { transferId: string; events: readonly OutboxEvent[] },
): Promise<LedgerFunctionOutcome> {
  const { rows } = await sql<LedgerFunctionOutcome>`
    select * from velora_release_transfer(${idem.scope}, ${idem.key}, ${idem.fingerprint},
      ${input.transferId}, ${outboxJson(input.events)}::jsonb)`.execute(db);
  return rows[0]!;
}

/** Where a transfer stands in the ledger: its hold and, once captured, the credit it posted. */
export interface TransferLedgerState {
  hold: HoldRow | null;
  /** The capture's journal transaction and its credit leg, read from the postings. */
  capture: { transaction_id: string; to_wallet_id: string; amount: string } | null;
}

/**
 * The transfer's hold and its capture as the journal records them (not the hold's own
 * columns): what an operator's "the money moved" must be checked against.
 */
export async function transferLedgerState(db: Db, transferId: string): Promise<TransferLedgerState> {
  const hold =
    (await db
      .selectFrom('holds')
      .selectAll()
      .where('transfer_id', '=', transferId)
      .where('kind', '=', 'transfer')
      .executeTakeFirst()) ?? null;
  if (hold?.capture_transaction_id == null) return { hold, capture: null };
  const credit = await db
    .selectFrom('journal_transactions as t')
    .innerJoin('postings as p', 'p.transaction_id', 't.id')
    .select(['t.id as transaction_id', 'p.wallet_id', 'p.amount'])
    .where('t.id', '=', hold.capture_transaction_id)
    .where('t.transfer_id', '=', transferId)
    .where('p.amount', '>', 0n)
    .executeTakeFirst();
  return {
    hold,
    capture: credit
      ? {
          transaction_id: credit.transaction_id,
          to_wallet_id: credit.wallet_id,
          amount: String(credit.amount),
        }
      : null,
  };
}

function outboxJson(events: readonly OutboxEvent[]): string {
  return JSON.stringify(
    events.map((e) => ({ event_id: e.eventId, collection: e.collection, document: e.document })),
  );
}
