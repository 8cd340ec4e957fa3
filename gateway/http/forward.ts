import type { Context } from 'hono';
import type { UpstreamResult } from '../../lib/http-client.js';
import { ProblemError, problem, problemResponse } from '../../lib/problem.js';
import { propagationHeaders, type GatewayEnv } from './request-context.js';
import type { Upstream } from './upstream.js';

/** Response headers an upstream may pass to the client; everything else (Server, hop-by-hop…) stays behind. */
const PASS_BACK = [
  'content-type',
  'cache-control',
  'pragma',
  'www-authenticate',
  'retry-after',
  'location',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'ratelimit-policy',
  // The authorization endpoint's sign-in page brings its own strict policy.
  'content-security-policy',
];

export interface ForwardOptions {
  path: string;
  /** Serialized body and its media type; omitted for GET. */
  body?: { text: string; contentType: string };
  /** Pass the caller's Authorization header on (the upstream checks it itself). */
  withAuthorization?: boolean;
}

/**
 * Passes a public request to an upstream (AuthService) and its answer back: the caller's
 * identity headers and client IP go along, internal headers do not come back, and an upstream
 * 5xx is replaced by a neutral 502 so no stack trace or host name leaks.
 */
export async function forward(
  upstream: Upstream,
  c: Context<GatewayEnv>,
  options: ForwardOptions,
): Promise<Response> {
  const headers: Record<string, string> = {
    accept: c.req.header('accept') ?? 'application/json',
    'x-forwarded-for': c.get('clientIp'),
    ...propagationHeaders(c),
  };
  const userAgent = c.req.header('user-agent');
  if (userAgent) headers['user-agent'] = userAgent;
  const authorization = c.req.header('authorization');
  if (options.withAuthorization && authorization) headers.authorization = authorization;
  if (options.body) headers['content-type'] = options.body.contentType;

  const res = await upstream.forward({
    method: c.req.method,
    path: options.path,
    headers,
    body: options.body?.text,
  });
  if (res.status >= 500) {
    return problemResponse(
      c,
      problem(502, 'upstream_error', `the ${upstream.name} service failed to answer this request`),
    );
  }
  const out = new Headers();
  for (const name of PASS_BACK) {
    const value = res.headers.get(name);
    if (value !== null) out.set(name, value);
  }
  // The skeleton adds what the gateway set (request id, security headers, rate-limit budget)
  // where the upstream did not.
  return new Response(res.body, { status: res.status, headers: out });
}

/**
 * Unwraps an upstream JSON answer: a 4xx problem is relayed as is (its `code` is part of the
 * contract), a 5xx becomes a neutral 502.
 */
export function unwrap<T>(upstreamName: string, result: UpstreamResult<T>): T {
  if (result.ok) return result.data;
  // 401/403 on a call made with the gateway's own credentials is the gateway's problem
  // (misconfigured client, rotated keys), never the caller's: do not blame them or show why.
  if (result.status >= 500 || result.status === 401 || result.status === 403) {
    throw new ProblemError(
      502,
      'upstream_error',
      `the ${upstreamName} service failed to answer this request`,
    );
  }
  const { type: _type, title: _title, status, detail, code, ...extensions } = result.problem;
  throw new ProblemError(
    status,
    code,
    typeof detail === 'string' ? detail : code,
    sanitizeExtensions(extensions),
  );
}

function sanitizeExtensions(extensions: Record<string, unknown>): Record<string, unknown> {
  const { stack: _stack, instance: _instance, ...rest } = extensions;
  return rest;
}
