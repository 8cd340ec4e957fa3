import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import { ProblemError } from '../../lib/problem.js';

/** jose errors that mean "the key set could not be fetched", not "the token is bad". */
const FETCH_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/**
 * AuthService's JWKS, cached by jose (refetched on an unknown `kid`, at most every 10 s). When
 * the set cannot be fetched at all, callers get `503 jwks_unavailable` instead of a misleading
 * 401: the token may be fine, the gateway just cannot check it yet.
 */
export function createGatewayJwks(
  url: string,
  options: { timeoutMs?: number; cooldownMs?: number } = {},
): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), {
    cooldownDuration: options.cooldownMs ?? 10_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: options.timeoutMs ?? 2000,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      const fetchFailed = !(err instanceof errors.JOSEError) || FETCH_FAILURES.has(err.code);
      if (fetchFailed) {
        throw new ProblemError(
          503,
          'jwks_unavailable',
          'access tokens cannot be checked right now; retry later',
          {},
          {
            'retry-after': '2',
          },
        );
      }
      throw err;
    }
  };
}
