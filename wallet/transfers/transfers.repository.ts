import { sql } from 'kysely';
import type { Db } from '../database.js';
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

function outboxJson(events: readonly OutboxEvent[]): string {
  return JSON.stringify(
    events.map((e) => ({ event_id: e.eventId, collection: e.collection, document: e.document })),
  );
}
