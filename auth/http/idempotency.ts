import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Principal } from '../../lib/jwt-verifier.js';
import { optionalIdempotencyKey, requireIdempotencyKey } from '../../lib/idempotency-key.js';
import { ProblemError } from '../../lib/problem.js';
import { redisKeys, type RedisClient } from '../redis.js';

const KEEP_SECONDS = 86_400;

interface Stored {
  state: 'pending' | 'done';
  request_hash: string;
  status?: number;
  body?: string;
  content_type?: string;
}

export interface IdempotencyOptions {
  /**
   * Without `Idempotency-Key` the request is refused (400 idempotency_key_required); when false
   * it runs unguarded. Default true.
   */
  required?: boolean;
  /** The key deduplicates only identical bodies: a different body under it is a new request. */
  perBody?: boolean;
}

/**
 * Internal mutating routes require `Idempotency-Key` (docs/internal-api.md). The first answer
 * for (caller, route, key) is kept a day and replayed for the same body; a different body is
 * `422 idempotency_key_mismatch`; a duplicate arriving while the first runs gets a retryable 503.
 */
export function idempotency(
  redis: RedisClient,
  options: IdempotencyOptions = {},
): MiddlewareHandler<{ Variables: { principal: Principal } }> {
  const required = options.required ?? true;
  return async (c, next) => {
    const key = required ? requireIdempotencyKey(c) : optionalIdempotencyKey(c);
    if (key === undefined) return next();
    const body = await c.req.text();
    const requestHash = createHash('sha256').update(`${c.req.method} ${c.req.path}\n${body}`).digest('hex');
    const scope = createHash('sha256')
      .update(`${c.var.principal.clientId}\n${c.req.method} ${c.req.path}`)
      .digest('hex')
      .slice(0, 32);
    // perBody: the key only deduplicates identical requests (OTP verify: a caller may reuse its
    // step key for a second, different code; that is a new attempt, not a key mismatch).
    const redisKey = redisKeys.idempotency(scope, options.perBody ? `${key}:${requestHash}` : key);
    const pending: Stored = { state: 'pending', request_hash: requestHash };
    const claimed = await redis.set(redisKey, JSON.stringify(pending), {
      expiration: { type: 'EX', value: 60 },
      condition: 'NX',
    });
    if (claimed === null) {
      const existing = JSON.parse((await redis.get(redisKey)) ?? 'null') as Stored | null;
      if (existing && existing.request_hash !== requestHash) {
        throw new ProblemError(
          422,
          'idempotency_key_mismatch',
          'the Idempotency-Key was used with a different request',
        );
      }
      if (existing?.state === 'done' && existing.status !== undefined) {
        return new Response(existing.body ?? null, {
          status: existing.status,
          headers: {
            'content-type': existing.content_type ?? 'application/json',
            'idempotent-replayed': 'true',
          },
        });
      }
      throw new ProblemError(
        503,
        'idempotency_in_progress',
        'the same request is still being processed',
        {},
        { 'retry-after': '1' },
      );
    }
    try {
      await next();
    } catch (err) {
      await redis.del(redisKey);
      throw err;
    }
    // Outages (5xx) are not remembered: the retry must run again.
    if (c.res.status >= 500) {
      await redis.del(redisKey);
      return;
    }
    const done: Stored = {
      state: 'done',
      request_hash: requestHash,
      status: c.res.status,
      body: await c.res.clone().text(),
      content_type: c.res.headers.get('content-type') ?? 'application/json',
    };
    await redis.set(redisKey, JSON.stringify(done), { expiration: { type: 'EX', value: KEEP_SECONDS } });
  };
}
