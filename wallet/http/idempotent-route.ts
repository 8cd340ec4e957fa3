import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Transaction } from 'kysely';
import { pgErrorCode } from '../../lib/db.js';
import { requireIdempotencyKey } from '../../lib/idempotency-key.js';
import { PROBLEM_CONTENT_TYPE, ProblemError } from '../../lib/problem.js';
import type { Database } from '../database.js';
import { domainProblem, isDomainError, type DomainError } from './domain-problem.js';
import type { WalletEnv } from './wallet-env.js';
import type { WalletDeps } from '../services.js';
import { IdempotencyError } from '../idempotency/idempotency.errors.js';
import {
  requestFingerprint,
  runIdempotent,
  withDeadlockRetry,
  type IdempotentRequest,
  type LedgerFunctionOutcome,
  type StoredResponse,
} from '../idempotency/idempotency.service.js';

const NUMERIC_OUT_OF_RANGE = '22003';

/**
 * How a mutating route answers at most once per `Idempotency-Key`, bound once (wallet/app.ts) to
 * the database that records the keys and to the relay's wake-up, so a route needs neither.
 */
export interface IdempotentResponder {
  /** {@link respondIdempotently}: `work` runs in the transaction that records the key. */
  respond<T>(
    c: Context<WalletEnv>,
    body: unknown,
    work: (trx: Transaction<Database>) => Promise<T | DomainError>,
    render: (result: T) => StoredResponse,
  ): Promise<Response>;
  /** {@link respondInOneRoundTrip}: one server-side function checks and stores the key. */
  respondInOneRoundTrip(
    c: Context<WalletEnv>,
    fingerprintBody: unknown,
    run: (request: IdempotentRequest) => Promise<LedgerFunctionOutcome>,
    fingerprint?: FingerprintVersion,
  ): Promise<Response>;
}

export function createIdempotentResponder(deps: Pick<WalletDeps, 'db' | 'onCommitted'>): IdempotentResponder {
  return {
    respond: (c, body, work, render) => respondIdempotently(c, deps, body, work, render),
    respondInOneRoundTrip: (c, body, run, fingerprint) =>
      respondInOneRoundTrip(c, deps, body, run, fingerprint),
  };
}

/**
 * Executes a mutating request at most once per `Idempotency-Key`. `work` runs inside the
 * transaction that records the key; a domain failure is stored and replayed like a success
 * (the outcome of a key never changes), an exception rolls everything back.
 */
async function respondIdempotently<T>(
  c: Context<WalletEnv>,
  deps: Pick<WalletDeps, 'db' | 'onCommitted'>,
  body: unknown,
  work: (trx: Transaction<Database>) => Promise<T | DomainError>,
  render: (result: T) => StoredResponse,
): Promise<Response> {
  const key = requireIdempotencyKey(c);
  const principal = c.get('principal');
  const outcome = await runIdempotent(
    deps.db,
    { scope: principal.subject, key, fingerprint: requestFingerprint(c.req.method, c.req.path, body) },
    async (trx) => {
      const result = await work(trx);
      if (isDomainError(result)) {
        const p = domainProblem(result);
        return { status: p.status, body: p };
      }
      return render(result);
    },
  ).catch(outOfRange);
  if (outcome === IdempotencyError.KeyMismatch) throw problemError(outcome);
  if (!outcome.replayed) deps.onCommitted?.();
  return storedResponse(c, outcome);
}

/**
 * A route's fingerprint after its first version: `version` (≥ 2) of `fingerprintBody`, and the
 * body as version 1 fingerprinted it, so a key stored before the change still replays.
 */
export interface FingerprintVersion {
  version: number;
  version1Body: unknown;
}

/**
 * Like {@link respondIdempotently} for work done by one server-side function that checks and
 * stores the idempotency record itself (one round trip). `fingerprintBody` is what must match
 * on a replay (the money fields); the function gets the key, scope and fingerprint.
 */
async function respondInOneRoundTrip(
  c: Context<WalletEnv>,
  deps: Pick<WalletDeps, 'onCommitted'>,
  fingerprintBody: unknown,
  run: (request: IdempotentRequest) => Promise<LedgerFunctionOutcome>,
  fingerprint?: FingerprintVersion,
): Promise<Response> {
  const { method, path } = c.req;
  const request: IdempotentRequest = {
    scope: c.get('principal').subject,
    key: requireIdempotencyKey(c),
    fingerprint: requestFingerprint(method, path, fingerprintBody, fingerprint?.version),
  };
  let result = await withDeadlockRetry(() => run(request)).catch(outOfRange);
  if (result.outcome === 'mismatch' && fingerprint) {
    // The key may have been stored by version 1: the same request as that version saw it replays.
    const v1 = { ...request, fingerprint: requestFingerprint(method, path, fingerprint.version1Body) };
    result = await withDeadlockRetry(() => run(v1)).catch(outOfRange);
  }
  if (result.outcome === 'mismatch') throw problemError(IdempotencyError.KeyMismatch);
  if (result.outcome === 'new') deps.onCommitted?.();
  const { code, ...extensions } = result.response;
  const body =
    result.status_code >= 400 && typeof code === 'string' && isDomainError(code)
      ? domainProblem(code, undefined, extensions)
      : result.response;
  return storedResponse(c, { status: result.status_code, body, replayed: result.outcome === 'replayed' });
}

function storedResponse(c: Context, outcome: StoredResponse & { replayed: boolean }): Response {
  const headers: Record<string, string> = { 'idempotent-replayed': String(outcome.replayed) };
  if (outcome.status >= 400) headers['content-type'] = PROBLEM_CONTENT_TYPE;
  else headers['content-type'] = 'application/json';
  return c.body(JSON.stringify(outcome.body), outcome.status as ContentfulStatusCode, headers);
}

/** A balance beyond bigint: nothing was committed (and nothing stored under the key). */
function outOfRange(err: unknown): never {
  if (pgErrorCode(err) === NUMERIC_OUT_OF_RANGE) {
    throw new ProblemError(
      422,
      'amount_out_of_range',
      'the resulting balance would exceed the largest supported amount',
    );
  }
  throw err;
}

/** Throws a domain failure as problem+json (for read routes, which store nothing). */
export function problemError(error: DomainError): ProblemError {
  const p = domainProblem(error);
  return new ProblemError(p.status, p.code, p.detail);
}
