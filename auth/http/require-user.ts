import type { MiddlewareHandler } from 'hono';
import type { Principal } from '../../lib/jwt-verifier.js';
import { fail } from './errors.js';

/**
 * After the token check: refuses a service (`client_credentials`) token on a route that acts for
 * the signed-in user (403 `user_token_required`), before the body is read.
 */
export const requireUser: MiddlewareHandler<{ Variables: { principal: Principal } }> = async (c, next) => {
  if (c.var.principal.isService) fail(403, 'user_token_required', 'this endpoint needs a user token');
  await next();
};
