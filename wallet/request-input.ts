import type { Context } from 'hono';
import { z } from 'zod';
import { ProblemError, validationProblem } from '../lib/problem.js';

/** Parses the JSON body with `schema` or fails with a 400 `validation_failed` problem. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const raw: unknown = await c.req.json();
  const result = schema.safeParse(raw);
  if (!result.success) {
    const p = validationProblem(result.error, 'body');
    throw new ProblemError(p.status, p.code, p.detail, { errors: p.errors });
  }
  return result.data;
}

/** Parses the query string with `schema` or fails with a 400 `validation_failed` problem. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) {
    const p = validationProblem(result.error, 'query');
    throw new ProblemError(p.status, p.code, p.detail, { errors: p.errors });
  }
  return result.data;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a syntactically valid UUID; ids that are not cannot name any row. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A free-text reference or reason: printable, bounded. */
export const referenceSchema = z.string().trim().min(1).max(200);
