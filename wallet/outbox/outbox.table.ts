import type { ColumnType, Generated, Selectable } from 'kysely';

/** A MongoDB document waiting to be relayed, written in the same transaction as its cause. */
export interface OutboxTable {
  id: Generated<bigint>;
  event_id: string;
  collection: string;
  document: ColumnType<Record<string, unknown>, string, string>;
  created_at: Generated<Date>;
  relayed_at: Date | null;
  /** A relay's lease on the row; another relay takes it only after this time. */
  claimed_until: ColumnType<Date | null, never, Date | null>;
  /** Times MongoDB refused the document. */
  attempts: ColumnType<number, never, number>;
  last_error: ColumnType<string | null, never, string | null>;
  /** When the event publisher settled the row (its events confirmed by RabbitMQ, or none). */
  published_at: ColumnType<Date | null, never, Date | null>;
  /** The event publisher's lease on the row, like `claimed_until` is the relay's. */
  publish_claimed_until: ColumnType<Date | null, never, Date | null>;
}

/** An outbox row MongoDB refused too many times, set aside so the rows after it flow. */
export interface OutboxDeadLettersTable {
  id: bigint;
  event_id: string;
  collection: string;
  document: ColumnType<Record<string, unknown>, string, string>;
  created_at: Date;
  attempts: number;
  last_error: string | null;
  dead_at: Generated<Date>;
}

export type OutboxRow = Selectable<OutboxTable>;
export type OutboxDeadLetterRow = Selectable<OutboxDeadLettersTable>;
