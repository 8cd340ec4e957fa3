import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { PgCode, pgErrorCode } from '../../lib/db.js';
import type { Database } from '../database.js';
import { IdempotencyError } from './idempotency.errors.js';
import {
  claimIdempotencyKey,
  findIdempotencyKey,
  storeIdempotentResponse,
  deleteIdempotencyKeysBefore,
} from './idempotency.repository.js';

/** An HTTP outcome worth replaying: status and JSON body (a success or a domain problem). */
export interface StoredResponse {
  status: number;
  body: unknown;
}

/** What a one-round-trip ledger function (migration 0002) answers: its stored or new outcome. */
export interface LedgerFunctionOutcome {
  status_code: number;
  /** A success body, or `{ code, ...extensions }` for a refusal. */
  response: Record<string, unknown>;
  outcome: 'new' | 'replayed' | 'mismatch';
}

export interface IdempotentRequest {
  /** Who owns the key (the caller's token subject): keys of different callers never collide. */
  scope: string;
  key: string;
  /** Hash of method, path and canonical body. */
  fingerprint: string;
}

/** Serializes JSON with object keys sorted, so two equal requests hash alike. */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * SHA-256 of method, path and canonical body. Version 1 (every route's) is the bare hex digest,
 * as stored since the first release; a later version of a route's fingerprint (one that leaves
 * a field out) is prefixed `v<n>:`, so a stored key says which version made it.
 */
export function requestFingerprint(method: string, path: string, body: unknown, version = 1): string {
  const text = `${method.toUpperCase()} ${path}\n${canonicalJson(body)}`;
  if (version === 1) return createHash('sha256').update(text).digest('hex');
  return `v${version}:${createHash('sha256').update(`v${version} ${text}`).digest('hex')}`;
}

const RETRYABLE = new Set<string>([PgCode.deadlockDetected, PgCode.serializationFailure]);

/**
 * Runs `work` at most once per (scope, key): the key row is inserted in the same transaction as
 * the work and holds its response, so a replay returns the stored result, a different request
 * under the same key is refused, and a concurrent duplicate waits and then replays. If the work
 * throws (an outage or a bug) the transaction rolls back and the key stays free for a retry.
 */
export async function runIdempotent(
  db: Kysely<Database>,
  request: IdempotentRequest,
  work: (trx: Transaction<Database>) => Promise<StoredResponse>,
): Promise<(StoredResponse & { replayed: boolean }) | IdempotencyError.KeyMismatch> {
  return withDeadlockRetry(() =>
    db.transaction().execute(async (trx) => {
      if (await claimIdempotencyKey(trx, request.scope, request.key, request.fingerprint)) {
        const response = await work(trx);
        await storeIdempotentResponse(trx, request.scope, request.key, response.status, response.body);
        return { ...response, replayed: false };
      }
      const stored = await findIdempotencyKey(trx, request.scope, request.key);
      if (!stored || stored.status_code === null)
        throw new Error('idempotency key row without a stored response');
      if (stored.fingerprint !== request.fingerprint) return IdempotencyError.KeyMismatch;
      return { status: stored.status_code, body: stored.response, replayed: true };
    }),
  );
}

/**
 * Runs one database transaction, again (up to 3 times) when PostgreSQL aborted it as a deadlock
 * or serialization victim. Lock order is fixed, so that should not happen; if it still does,
 * nothing was committed and running it again is safe.
 */
export async function withDeadlockRetry<T>(transaction: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      const code = pgErrorCode(err);
      if (attempt < 3 && code !== undefined && RETRYABLE.has(code)) continue;
      throw err;
    }
  }
}

/**
 * Forgets keys older than `retentionDays`, in batches so no single statement holds many locks.
 * A key only has to outlive every retry of its request (activities retry for hours, not weeks);
 * after that a reuse would be a new request.
 */
export async function purgeIdempotencyKeys(
  db: Kysely<Database>,
  retentionDays: number,
  now = new Date(),
): Promise<number> {
  const before = new Date(now.getTime() - retentionDays * 86_400_000);
  let total = 0;
  for (;;) {
    const n = await deleteIdempotencyKeysBefore(db, before, 1000);
    total += n;
    if (n < 1000) return total;
  }
}
