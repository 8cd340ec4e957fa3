import type { MiddlewareHandler } from 'hono';
import { denylistKey } from '../../lib/denylist.js';
import { bearerToken, type AccessTokenVerifier, type Principal } from '../../lib/jwt-verifier.js';
import { ProblemError } from '../../lib/problem.js';
import type { GatewayEnv } from './request-context.js';

/** Answers whether an access token id was revoked (logout puts it on the denylist). */
export type DenylistCheck = (jti: string) => Promise<boolean>;

/** Minimal Redis surface the denylist needs (node-redis v5 client satisfies it). */
export interface RedisReader {
  exists(key: string): Promise<number>;
}

/**
 * Reads AuthService's denylist. Fails closed: if Redis cannot answer, the request is refused
 * with 503 rather than letting a possibly revoked token through.
 */
export function createRedisDenylist(redis: RedisReader): DenylistCheck {
  return async (jti) => {
    try {
      return (await redis.exists(denylistKey(jti))) > 0;
    } catch {
      throw new ProblemError(
        503,
        'denylist_unavailable',
        'token revocation status cannot be checked right now',
        {},
        {
          'retry-after': '1',
        },
      );
    }
  };
}

/**
 * Requires a valid, unrevoked access token: signature, `alg`, `iss`, `aud`, `typ` and expiry
 * are checked locally by `verify`, revocation against the Redis denylist. A request that
 * `authorize` (route-access.ts) already authenticated is not verified twice.
 */
export function authenticate(
  verify: AccessTokenVerifier,
  isRevoked: DenylistCheck,
): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    if (c.get('principal')) return next();
    const principal = await verify(bearerToken(c.req.header('authorization')));
    if (await isRevoked(principal.tokenId)) {
      throw new ProblemError(
        401,
        'token_revoked',
        'the access token was revoked',
        {},
        {
          'www-authenticate': 'Bearer error="invalid_token"',
        },
      );
    }
    c.set('principal', principal);
    await next();
  };
}

/**
 * Operators: users with the `admin` role, acting through a token that was granted the `admin`
 * scope (the first-party client only). They may read any wallet or transfer. An admin's token
 * from a third-party app lacks the scope, so it reads only the admin's own data.
 */
export function isAdmin(principal: Principal): boolean {
  return !principal.isService && principal.roles.has('admin') && principal.scopes.has('admin');
}

/** Service clients that may credit wallets through the admin deposit route. */
export const DEPOSIT_SERVICE_SCOPES = ['wallet:admin', 'wallet:write'] as const;

/** Admin deposits: an admin user, or a service client holding a deposit scope. */
export function mayDeposit(principal: Principal): boolean {
  if (isAdmin(principal)) return true;
  return principal.isService && DEPOSIT_SERVICE_SCOPES.some((s) => principal.scopes.has(s));
}

/** Refuses service tokens on routes that act for an end user (wallets, transfers). */
export function requireUser(principal: Principal): void {
  if (principal.isService) {
    throw new ProblemError(
      403,
      'user_token_required',
      'this route acts for an end user; a service token cannot call it',
    );
  }
}
