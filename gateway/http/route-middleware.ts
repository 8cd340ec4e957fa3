import type { MiddlewareHandler } from 'hono';
import type { AccessTokenVerifier } from '../../lib/jwt-verifier.js';
import { authenticate, type DenylistCheck } from './authn.js';
import { rateLimit, type RateLimiter } from './rate-limit.js';
import type { GatewayEnv } from './request-context.js';

export type GatewayMiddleware = MiddlewareHandler<GatewayEnv>;

/**
 * The middleware a route factory is handed instead of the verifier, the denylist and the
 * limiter they are made of: built once in app.ts, so a route sees only what it runs.
 */
export interface RouteMiddleware {
  /** A valid, unrevoked access token (authn.ts). */
  authn: GatewayMiddleware;
  /** A valid token, then that caller's `user` budget: every route that acts for someone. */
  signedIn: readonly GatewayMiddleware[];
  /** The stricter per-IP `auth` budget of AuthService's public routes. */
  authBudget: GatewayMiddleware;
}

export function createRouteMiddleware(
  verifyToken: AccessTokenVerifier,
  isRevoked: DenylistCheck,
  rateLimiter: RateLimiter,
): RouteMiddleware {
  const authn = authenticate(verifyToken, isRevoked);
  return {
    authn,
    signedIn: [authn, rateLimit(rateLimiter, 'user', (c) => c.var.principal.subject)],
    authBudget: rateLimit(rateLimiter, 'auth', (c) => c.var.clientIp),
  };
}
