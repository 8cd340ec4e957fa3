import type { MiddlewareHandler } from 'hono';
import { requireToken, type AccessTokenVerifier, type Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';

/**
 * `/internal/*`: a valid service token (client_credentials, `sub = client:<id>`) carrying
 * `auth:internal`. A user token with a forged scope claim cannot pass: its subject is a user.
 */
export function requireServiceToken(
  verify: AccessTokenVerifier,
  scopes: string[] = ['auth:internal'],
): MiddlewareHandler<{ Variables: { principal: Principal } }> {
  const inner = requireToken(verify, scopes);
  return async (c, next) =>
    inner(c, async () => {
      if (!c.var.principal.isService) {
        throw new ProblemError(403, 'service_token_required', 'this endpoint accepts service tokens only');
      }
      await next();
    });
}
