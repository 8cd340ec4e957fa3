import type { MiddlewareHandler } from 'hono';
import { ProblemError } from '../../lib/problem.js';

/** Deepest nesting of objects/arrays accepted in a JSON body; the contract needs 2. */
const MAX_JSON_DEPTH = 16;

/** Nesting depth of a JSON text, counted without parsing (strings are skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) max = Math.max(max, ++depth);
    else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return max;
}

/**
 * Refuses deeply nested JSON before anything parses it, so a 64 KiB body of `[[[[…` cannot
 * exhaust the parser's stack. The text stays cached on the request for the validators.
 */
export function jsonDepthLimit(maxDepth = MAX_JSON_DEPTH): MiddlewareHandler {
  return async (c, next) => {
    // GET/HEAD have no body; asking `c.req.raw` for one would build a WHATWG Request.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const type = c.req.header('content-type') ?? '';
    if (c.req.raw.body && /^application\/([a-z0-9.+-]*\+)?json/i.test(type)) {
      const text = await c.req.text();
      if (jsonDepth(text) > maxDepth) {
        throw new ProblemError(400, 'json_too_deep', `JSON bodies may nest at most ${maxDepth} levels`);
      }
    }
    await next();
  };
}
