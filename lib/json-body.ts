import type { Context } from 'hono';
import type { z } from 'zod';
import {
  ProblemError,
  malformedJsonProblem,
  unsupportedMediaTypeProblem,
  validationProblem,
  type Problem,
} from './problem.js';

const JSON_MEDIA_TYPE = 'application/json';

/** True when the request says its body is JSON (`application/json`, any parameters). */
export function hasJsonBody(c: Context): boolean {
  return (c.req.header('content-type') ?? '').toLowerCase().startsWith(JSON_MEDIA_TYPE);
}

/**
 * Reads a JSON request body and validates it with `schema`, the same way in every service:
 * another media type is `415 unsupported_media_type`, unparsable JSON `400 malformed_json`, a
 * body the schema refuses `400 validation_failed` naming the fields (never echoing values).
 * Strict schemas make unknown fields (`role`) and operator objects (`{"$ne": …}`) fail here
 * instead of reaching a service.
 */
export async function parseJsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  if (!hasJsonBody(c)) throw problemError(unsupportedMediaTypeProblem());
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw problemError(malformedJsonProblem());
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw problemError(validationProblem(result.error, 'body'));
  return result.data;
}

/** Parses the query string with `schema` or fails with a 400 `validation_failed` problem. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) throw problemError(validationProblem(result.error, 'query'));
  return result.data;
}

function problemError(p: Problem): ProblemError {
  const { status, code, detail, type: _type, title: _title, ...extensions } = p;
  return new ProblemError(status, code, detail, extensions);
}
