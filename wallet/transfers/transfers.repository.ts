import { CompiledQuery } from 'kysely';
import { namedStatement } from '../../lib/db.js';
import type { Db } from '../database.js';
import type { HoldRow } from '../holds/holds.table.js';
import type { IdempotentRequest } from '../idempotency/idempotency.service.js';
import type { LedgerFunctionOutcome } from '../idempotency/idempotency.service.js';
import type { OutboxEvent } from '../outbox/outbox.repository.js';

/**
 * The ledger operations of a transfer, each ONE round trip to PostgreSQL: a server-side
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

/**
 * The three calls as named prepared statements (lib/db.ts): each pooled connection parses,
 * analyses and plans them once, then only binds and runs them. Sent unnamed, every call paid
 * for resolving the function and planning its scan again (`bench/ledger/callgrind.ts
 * --prepared` measures the difference, docs/wallet.md). The columns are named, so the
 * statements' result type is the functions' `returns table`, which the migrations keep.
 */
const RESERVE_SQL = namedStatement(
  'velora_reserve_transfer',
  `select status_code, response, outcome from velora_reserve_transfer($1, $2, $3, $4, $5::uuid, $6::uuid,
    $7::uuid, $8::bigint, $9, $10::bigint, $11::bigint, $12::integer)`,
);
const CAPTURE_SQL = namedStatement(
  'velora_capture_hold',
  `select status_code, response, outcome from velora_capture_hold($1, $2, $3, $4::uuid, $5::uuid, $6::bigint,
    $7::jsonb)`,
);
const RESERVE_CAPTURE_SQL = namedStatement(
  'velora_reserve_capture_transfer',
  `select status_code, response, outcome from velora_reserve_capture_transfer($1, $2, $3, $4, $5, $6,
    $7::uuid, $8::uuid, $9::uuid, $10::bigint, $11, $12::bigint, $13::bigint, $14::integer, $15::jsonb)`,
);
const RELEASE_SQL = namedStatement(
  'velora_release_transfer',
  `select status_code, response, outcome from velora_release_transfer($1, $2, $3, $4, $5::jsonb)`,
);

async function callLedgerFunction(db: Db, text: string, params: unknown[]): Promise<LedgerFunctionOutcome> {
  const { rows } = await db.executeQuery<LedgerFunctionOutcome>(CompiledQuery.raw(text, params));
  return rows[0]!;
}

export async function reserveTransfer(
  db: Db,
  idem: IdempotentRequest,
  input: ReserveInput,
): Promise<LedgerFunctionOutcome> {
  return callLedgerFunction(db, RESERVE_SQL, [
    idem.scope,
    idem.key,
    idem.fingerprint,
    ...reserveParams(input),
  ]);
}

/** The reserve's own parameters, in the order both reserve functions take them. */
function reserveParams(input: ReserveInput): unknown[] {
  return [
    input.transferId,
    input.userId,
    input.fromWalletId,
    input.toWalletId,
    input.amount.toString(),
    input.currency,
    input.perTransferLimit.toString(),
    input.dailyLimit.toString(),
    input.holdTtlSeconds,
  ];
}

/**
 * Reserve and capture in ONE transaction (migration 0046), for a transfer that needs no step-up:
 * the reserve's checks, then the capture's writes and records. The capture's answer is stored
 * under `capture` (its key and fingerprint) as well, so a capture sent later replays it.
 */
export async function reserveAndCaptureTransfer(
  db: Db,
  idem: IdempotentRequest,
  capture: { key: string; fingerprint: string },
  input: ReserveInput & { events: readonly OutboxEvent[] },
): Promise<LedgerFunctionOutcome> {
  return callLedgerFunction(db, RESERVE_CAPTURE_SQL, [
    idem.scope,
    idem.key,
    idem.fingerprint,
    capture.key,
    capture.fingerprint,
    ...reserveParams(input),
    outboxJson(input.events),
  ]);
}

export async function captureHold(
  db: Db,
  idem: IdempotentRequest,
  input: { holdId: string; toWalletId: string; amount?: bigint; events: readonly OutboxEvent[] },
): Promise<LedgerFunctionOutcome> {
  return callLedgerFunction(db, CAPTURE_SQL, [
    idem.scope,
    idem.key,
    idem.fingerprint,
    input.holdId,
    input.toWalletId,
    input.amount?.toString() ?? null,
    outboxJson(input.events),
  ]);
}

export async function releaseTransfer(
  db: Db,
  idem: IdempotentRequest,
  input: { transferId: string; events: readonly OutboxEvent[] },
): Promise<LedgerFunctionOutcome> {
  return callLedgerFunction(db, RELEASE_SQL, [
    idem.scope,
    idem.key,
    idem.fingerprint,
    input.transferId,
    outboxJson(input.events),
  ]);
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
