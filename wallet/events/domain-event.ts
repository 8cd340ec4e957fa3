import { v5 as uuidv5 } from 'uuid';
import { z } from 'zod';
import { OUTBOX_BUNDLE } from '../outbox/outbox.repository.js';
import type { OutboxRow } from '../outbox/outbox.table.js';

/** The durable topic exchange every domain event is published to (docs/events.md). */
export const EVENTS_EXCHANGE = 'velora.events';

/** Every event type; each is also its message's routing key. */
export const EVENT_TYPES = [
  'wallet.created',
  'wallet.credited',
  'wallet.debited',
  'hold.created',
  'hold.captured',
  'hold.released',
  'hold.expired',
  'transfer.completed',
  'transfer.failed',
  'transfer.cancelled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A message's body. */
export interface DomainEvent {
  /** Stable: the same fact always has the same id, however often it is published. */
  event_id: string;
  type: EventType;
  occurred_at: string;
  data: Record<string, unknown>;
}

/**
 * The namespace of the name-based (version 5) UUIDs that event ids are: `event_id` =
 * uuidv5(`<type>:<source id>`, this), so a consumer can recompute one from its source.
 */
export const EVENT_ID_NAMESPACE = 'a4d7c1e2-5b0f-4c3e-9a61-7f2e8d9b0c13';

/** The id of the event `type` about `sourceId` (a posting, hold, wallet or transfer id). */
export function eventIdOf(type: EventType, sourceId: string): string {
  return uuidv5(`${type}:${sourceId}`, EVENT_ID_NAMESPACE);
}

/** An outbox row that cannot be turned into events: it goes to `event_dead_letters`. */
export class UnpublishableRow extends Error {
  override readonly name = 'UnpublishableRow';
}

const amount = z.string().regex(/^\d+$/);

/** A `transaction_history` document (velora_history_event, migration 0010; ledger.repository). */
const historyDocument = z.object({
  _id: z.string(),
  seq: z.union([z.number(), z.string()]).transform(String),
  transaction_id: z.string(),
  wallet_id: z.string(),
  user_id: z.string().nullish(),
  currency: z.string(),
  amount,
  direction: z.enum(['debit', 'credit']),
  kind: z.string(),
  balance_after: z.string().regex(/^-?\d+$/),
  transfer_id: z.string().nullish(),
  reference: z.string().nullish(),
  reverses_transaction_id: z.string().nullish(),
  created_at: z.string(),
});
type HistoryDocument = z.infer<typeof historyDocument>;

/** The `transaction_auth_log` document of a transfer's final step (`records.auth_log`). */
const finalAuthLog = z.object({
  transfer_id: z.string(),
  user_id: z.string(),
  outcome: z.enum(['completed', 'failed', 'cancelled']),
  failure_code: z.string().optional(),
  recorded_at: z.string(),
});

/** An `event_queue` row's document (a trigger's, migration 0039): the event without its id. */
const triggerEvent = z.object({
  type: z.enum(EVENT_TYPES),
  occurred_at: z.string(),
  data: z.record(z.string(), z.unknown()),
});

const bundleDocument = z.object({
  events: z.array(
    z.object({ event_id: z.string(), collection: z.string(), document: z.record(z.string(), z.unknown()) }),
  ),
});

/**
 * The domain events an outbox row carries, in order: a history document is a `wallet.credited`
 * or `wallet.debited`; a transfer's final auth log (in its capture's or release's bundle) is its
 * `transfer.<outcome>`. Every other document (audit traces, status-change audits) carries none.
 * Throws {@link UnpublishableRow} for a document of an unexpected shape.
 */
export function eventsOfOutboxRow(
  row: Pick<OutboxRow, 'event_id' | 'collection' | 'document'>,
): DomainEvent[] {
  const documents =
    row.collection === OUTBOX_BUNDLE
      ? parse(bundleDocument, row.document, row).events
      : [{ event_id: row.event_id, collection: row.collection, document: row.document }];
  const postings: HistoryDocument[] = [];
  const events: DomainEvent[] = [];
  for (const d of documents) {
    if (d.collection === 'transaction_history') {
      const posting = parse(historyDocument, d.document, row);
      postings.push(posting);
      events.push(movementEvent(posting));
    } else if (d.collection === 'transaction_auth_log' && 'outcome' in d.document) {
      events.push(transferEvent(parse(finalAuthLog, d.document, row), postings));
    }
  }
  return events;
}

/** The event of an `event_queue` row (a trigger's, migration 0039). */
export function eventOfQueuedRow(row: { source_id: string; document: unknown }): DomainEvent {
  const event = parse(triggerEvent, row.document, { collection: 'event_queue', event_id: row.source_id });
  const sourceId = row.source_id.slice(row.source_id.indexOf(':') + 1);
  return { event_id: eventIdOf(event.type, sourceId), ...event };
}

function movementEvent(p: HistoryDocument): DomainEvent {
  const type = p.direction === 'credit' ? 'wallet.credited' : 'wallet.debited';
  return {
    event_id: eventIdOf(type, p._id),
    type,
    occurred_at: p.created_at,
    data: {
      wallet_id: p.wallet_id,
      user_id: p.user_id ?? null,
      posting_id: p._id,
      seq: p.seq,
      transaction_id: p.transaction_id,
      kind: p.kind,
      currency: p.currency,
      amount: p.amount,
      balance_after: p.balance_after,
      transfer_id: p.transfer_id ?? null,
      reference: p.reference ?? null,
      reverses_transaction_id: p.reverses_transaction_id ?? null,
    },
  };
}

/**
 * `transfer.<outcome>` from the final step's auth log. A capture's bundle holds the transfer's
 * two postings before it, so a completed transfer names what moved.
 */
function transferEvent(log: z.infer<typeof finalAuthLog>, postings: readonly HistoryDocument[]): DomainEvent {
  const type = `transfer.${log.outcome}` as const;
  const debit = postings.find((p) => p.direction === 'debit' && p.transfer_id === log.transfer_id);
  const credit = postings.find((p) => p.direction === 'credit' && p.transfer_id === log.transfer_id);
  const moved =
    log.outcome === 'completed' && debit && credit
      ? {
          transaction_id: debit.transaction_id,
          from_wallet_id: debit.wallet_id,
          to_wallet_id: credit.wallet_id,
          currency: debit.currency,
          amount: credit.amount,
        }
      : {};
  return {
    event_id: eventIdOf(type, log.transfer_id),
    type,
    occurred_at: log.recorded_at,
    data: {
      transfer_id: log.transfer_id,
      user_id: log.user_id,
      ...moved,
      ...(log.failure_code === undefined ? {} : { failure_code: log.failure_code }),
    },
  };
}

function parse<T>(schema: z.ZodType<T>, value: unknown, row: Pick<OutboxRow, 'event_id' | 'collection'>): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new UnpublishableRow(
      `${row.collection} ${row.event_id}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
  }
  return result.data;
}
