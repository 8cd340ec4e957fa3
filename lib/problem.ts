import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Logger } from './logger.js';

/** RFC 9457 problem details with Velora's stable machine-readable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Builds a problem object; `type` is a stable URI derived from `code`. */
export function problem(
  status: number,
  code: string,
  detail: string,
  extensions: Record<string, unknown> = {},
): Problem {
  return {
    type: `https://velora.dev/problems/${code.replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extensions,
  };
}

/**
 * An expected failure that should reach the client as problem+json. Throw it from a handler
 * (or return {@link problemResponse}) — `onError` renders it once.
 */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  readonly problem: Problem;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    code: string,
    detail: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.problem = problem(status, code, detail, extensions);
    this.headers = headers;
  }
}

/** Renders a problem as an `application/problem+json` response. */
export function problemResponse(c: Context, p: Problem, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(p), p.status as ContentfulStatusCode, {
    ...headers,
    'content-type': PROBLEM_CONTENT_TYPE,
  });
}

/** Formats zod issues for a `validation_failed` problem without echoing the rejected values. */
export function validationProblem(error: z.ZodError, where = 'body'): Problem {
  const errors = error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const first = errors[0];
  return problem(400, 'validation_failed', first ? `${first.path}: ${first.message}` : 'invalid request', {
    errors,
  });
}

/**
 * A request body of a media type the route does not take: 415, the same body in every service
 * (lib/json-body.ts answers it, and so does the gateway's validator). The form type is named
 * because the OAuth routes take `application/x-www-form-urlencoded` instead of JSON.
 */
export function unsupportedMediaTypeProblem(): Problem {
  return problem(
    415,
    'unsupported_media_type',
    'send the body as application/json (or the documented form type)',
  );
}

/** A request body that does not parse as JSON: 400, the same body in every service. */
export function malformedJsonProblem(): Problem {
  return problem(400, 'malformed_json', 'request body is not valid JSON');
}

/**
 * The one error handler of a service: known problems are rendered as they are, framework
 * errors are mapped to problems, anything else is logged and answered with a bare 500
 * (never a stack trace or an internal host name).
 */
export function createErrorHandler(log: Logger): ErrorHandler {
  return (err, c) => {
    if (err instanceof ProblemError) return problemResponse(c, err.problem, err.headers);
    if (err instanceof HTTPException) {
      const status = err.status;
      const code =
        status === 413
          ? 'payload_too_large'
          : status === 401
            ? 'unauthorized'
            : status === 400
              ? 'bad_request'
              : `http_${status}`;
      const detail =
        status === 413 ? 'request body is too large' : err.message || (TITLES[status] ?? 'error');
      return problemResponse(c, problem(status, code, detail));
    }
    if (err instanceof SyntaxError) {
      return problemResponse(c, malformedJsonProblem());
    }
    log.error({ err, path: c.req.path, method: c.req.method }, 'unhandled error');
    return problemResponse(c, problem(500, 'internal_error', 'an unexpected error occurred'));
  };
}

export const notFoundHandler: NotFoundHandler = (c) =>
  problemResponse(c, problem(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`));
