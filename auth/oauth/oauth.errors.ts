import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { problem } from '../../lib/problem.js';

/** RFC 6749 §5.2 / RFC 7009 / RFC 7662 error codes. */
export enum OAuthError {
  InvalidRequest = 'invalid_request',
  InvalidClient = 'invalid_client',
  InvalidGrant = 'invalid_grant',
  UnauthorizedClient = 'unauthorized_client',
  UnsupportedGrantType = 'unsupported_grant_type',
  InvalidScope = 'invalid_scope',
  UnsupportedTokenType = 'unsupported_token_type',
  TooManyRequests = 'too_many_requests',
}

const oauthErrorStatus: Record<OAuthError, number> = {
  [OAuthError.InvalidRequest]: 400,
  [OAuthError.InvalidClient]: 401,
  [OAuthError.InvalidGrant]: 400,
  [OAuthError.UnauthorizedClient]: 400,
  [OAuthError.UnsupportedGrantType]: 400,
  [OAuthError.InvalidScope]: 400,
  [OAuthError.UnsupportedTokenType]: 400,
  [OAuthError.TooManyRequests]: 429,
};

/**
 * An OAuth error body: the RFC 6749 fields (`error`, `error_description`) that OAuth clients
 * read, plus Velora's problem fields (`code`, `status`, ...) so the rest of the platform reads
 * it like any other error. Served as application/json, as RFC 6749 requires.
 */
export function oauthErrorResponse(
  c: Context,
  error: OAuthError,
  description: string,
  headers: Record<string, string> = {},
) {
  const status = oauthErrorStatus[error];
  const body = { error, error_description: description, ...problem(status, error, description) };
  return c.json(body, status as ContentfulStatusCode, {
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...headers,
  });
}
