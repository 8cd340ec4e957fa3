import type { Context } from 'hono';
import type { z } from 'zod';
import { ProblemError, validationProblem, type Problem } from '../../lib/problem.js';

/**
 * Reads a JSON body and validates it with a strict schema: unknown fields (`role`, `status`)
 * and operator objects (`{"$ne": ...}`) fail validation instead of reaching the service.
 */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    throw new ProblemError(415, 'unsupported_media_type', 'the body must be application/json');
  }
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ProblemError(400, 'malformed_json', 'request body is not valid JSON');
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw problemError(validationProblem(result.error));
  return result.data;
}

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

function problemError(p: Problem): ProblemError {
  const { status, code, detail, type: _type, title: _title, ...extensions } = p;
  return new ProblemError(status, code, detail, extensions);
}
