import type { Context } from 'hono';
import { ProblemError } from './problem.js';

/**
 * 1 to 255 visible ASCII characters (no spaces or control characters), as
 * draft-ietf-httpapi-idempotency-key-header allows: the one rule for every service.
 */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** True when `value` is a well-formed `Idempotency-Key`. */
export function isIdempotencyKey(value: string): boolean {
  return IDEMPOTENCY_KEY.test(value);
}

/**
 * The request's `Idempotency-Key`: `400 idempotency_key_required` when it is missing (or
 * blank), `400 invalid_idempotency_key` when it is not 1-255 visible ASCII characters.
 */
export function requireIdempotencyKey(c: Context): string {
  const key = optionalIdempotencyKey(c);
  if (key === undefined) {
    throw new ProblemError(
      400,
      'idempotency_key_required',
      'the Idempotency-Key header is required for this request',
    );
  }
  return key;
}

/**
 * The request's `Idempotency-Key` where one is optional: undefined without one (a blank header
 * counts as none), `400 invalid_idempotency_key` when it is malformed.
 */
export function optionalIdempotencyKey(c: Context): string | undefined {
  const key = c.req.header('idempotency-key');
  if (key === undefined || key.trim() === '') return undefined;
  if (!isIdempotencyKey(key)) {
    throw new ProblemError(
      400,
      'invalid_idempotency_key',
      'Idempotency-Key must be 1-255 visible ASCII characters',
    );
  }
  return key;
}
