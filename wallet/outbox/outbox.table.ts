import type { ColumnType, Generated, Selectable } from 'kysely';

/** A MongoDB document waiting to be relayed, written in the same transaction as its cause. */
export interface OutboxTable {
  id: Generated<bigint>;
  event_id: string;
  collection: string;
  document: ColumnType<Record<string, unknown>, string, string>;
  created_at: Generated<Date>;
  relayed_at: Date | null;
}

export type OutboxRow = Selectable<OutboxTable>;
