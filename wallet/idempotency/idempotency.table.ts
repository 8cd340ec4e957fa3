import type { Generated, Selectable } from 'kysely';

/** One executed mutating request per (principal, key), with the response it produced. */
export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  fingerprint: string;
  status_code: number | null;
  response: unknown;
  created_at: Generated<Date>;
}

export type IdempotencyKeyRow = Selectable<IdempotencyKeysTable>;
