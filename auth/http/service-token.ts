import type { MiddlewareHandler } from 'hono';
import { decodeProtectedHeader } from 'jose';
import type { KeyStore } from '../keys/keys.service.js';
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

export interface VerifiedServiceTokenCacheOptions {
  /**
   * True while the signing key `kid` still verifies tokens: the key store's view of the table
   * (the same one a full check reads), so a key removed or deleted by hand stops every cached
   * token exactly when it stops a freshly checked one.
   */
  keyPublished: (kid: string) => Promise<boolean>;
  /** The denylist (`TokenService.isRevoked`), asked on every call, cached or not. */
  isRevoked: (jti: string) => Promise<boolean>;
  /** How many service tokens to remember (a handful of clients hold one each). */
  size?: number;
  now?: () => number;
}

/**
 * Wraps AuthService's own verifier so a service token's ES256 signature is checked once, not
 * on every `/internal/*` call (issue 9: 14 % of AuthService's CPU under transfers went to
 * verifying the worker's same token again and again). A remembered token is accepted without
 * the signature check only while all of these hold, each asked again on every call:
 *
 * - before its `exp` (the full check allows 5 s of clock tolerance past it; the cache none),
 * - its signing key is still published (`keyPublished`: a removed or compromised key ends it),
 * - its `jti` is not denylisted (`isRevoked`: revocation acts at once, as before).
 *
 * Anything else goes to the full verifier, which answers with its own error (expired, invalid,
 * revoked) and then forgets the entry. Only service tokens (`client_credentials`) are
 * remembered; a user token is verified in full every time (and refused by the route anyway).
 * Bounded LRU by token text, so a flood of distinct tokens evicts, never grows.
 */
export function cacheVerifiedServiceTokens(
  verify: AccessTokenVerifier,
  options: VerifiedServiceTokenCacheOptions,
): AccessTokenVerifier {
  const size = options.size ?? 256;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { principal: Principal; kid: string }>();

  async function stillValid(entry: { principal: Principal; kid: string }): Promise<boolean> {
    if (now() >= entry.principal.expiresAt * 1000) return false;
    if (!(await options.keyPublished(entry.kid))) return false;
    return !(await options.isRevoked(entry.principal.tokenId));
  }

  return async (token) => {
    const hit = entries.get(token);
    if (hit) {
      entries.delete(token);
      entries.set(token, hit); // most recently used last
      if (await stillValid(hit)) return hit.principal;
      entries.delete(token);
    }
    const principal = await verify(token);
    const { kid } = decodeProtectedHeader(token);
    if (principal.isService && typeof kid === 'string') {
      if (entries.size >= size) entries.delete(entries.keys().next().value!);
      entries.set(token, { principal, kid });
    }
    return principal;
  };
}

/** `keyPublished` over the key store: the key resolver a full check uses, by kid alone. */
export function keyPublishedIn(keys: Pick<KeyStore, 'verificationKey'>): (kid: string) => Promise<boolean> {
  return async (kid) => {
    try {
      await keys.verificationKey({ alg: 'ES256', kid }, { payload: '', signature: '' });
      return true;
    } catch {
      return false;
    }
  };
}
