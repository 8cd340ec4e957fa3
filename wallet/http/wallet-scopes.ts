import type { MiddlewareHandler } from 'hono';
import { requireToken, type AccessTokenVerifier, type Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';

export type WalletScope = 'wallet:read' | 'wallet:write' | 'wallet:admin';

/** {@link requireWalletScope} bound to the service's token verifier: what a route factory gets. */
export type RequireScope = (scope: WalletScope) => MiddlewareHandler<{ Variables: { principal: Principal } }>;

/** Each scope also grants the ones below it: an operator (admin) may read and write. */
const IMPLIED_BY: Record<WalletScope, WalletScope[]> = {
  'wallet:read': ['wallet:read', 'wallet:write', 'wallet:admin'],
  'wallet:write': ['wallet:write', 'wallet:admin'],
  'wallet:admin': ['wallet:admin'],
};

/**
 * Requires a valid SERVICE access token (client_credentials: `sub = client:<client_id>`) that
 * carries `scope` or a higher wallet scope (read < write < admin). A user token is refused with
 * 403 `service_token_required` whatever scopes it claims: users reach wallets only through the
 * gateway, which checks ownership and uses its own service token. The gateway's client holds
 * `wallet:read wallet:admin` and creates wallets with it.
 */
export function requireWalletScope(
  verify: AccessTokenVerifier,
  scope: WalletScope,
): MiddlewareHandler<{ Variables: { principal: Principal } }> {
  const authenticate = requireToken(verify);
  return async (c, next) => {
    await authenticate(c, async () => {
      const principal = c.get('principal');
      if (!principal.isService) {
        throw new ProblemError(403, 'service_token_required', 'this endpoint accepts service tokens only');
      }
      if (!IMPLIED_BY[scope].some((s) => principal.scopes.has(s))) {
        throw new ProblemError(
          403,
          'insufficient_scope',
          `the token lacks the scope ${scope}`,
          {},
          {
            'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"`,
          },
        );
      }
      await next();
    });
  };
}
