import type { Context } from 'hono';
import { ProblemError } from '../../lib/problem.js';

/**
 * Reads a JSON body and validates it with a strict schema: lib/json-body.ts, the one parser of
 * every service (415 on another media type, 400 on malformed JSON or a refused field).
 */
export { parseJsonBody as jsonBody } from '../../lib/json-body.js';

/** Reads an `application/x-www-form-urlencoded` body (OAuth endpoints) as single-valued fields. */
export async function formBody(c: Context): Promise<Record<string, string>> {
  const type = c.req.header('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) return {};
  const params = new URLSearchParams(await c.req.text());
  const out: Record<string, string> = {};
  for (const [key, value] of params) {
    // RFC 6749 §3.1: parameters must not be repeated; a repeated one is treated as invalid.
    if (key in out) throw new ProblemError(400, 'invalid_request', `parameter ${key} is repeated`);
    out[key] = value;
  }
  return out;
}
