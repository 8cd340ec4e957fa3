import {
  createRemoteJWKSet,
  jwtVerify,
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { MiddlewareHandler } from 'hono';
import { ProblemError } from './problem.js';

/** The claims every Velora access token carries (RFC 9068 profile). */
export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  jti: string;
  scope: string;
  roles: string[];
  client_id: string;
  exp: number;
}

/** An authenticated caller: a user (through a client) or a service client acting for itself. */
export interface Principal {
  subject: string;
  clientId: string;
  scopes: ReadonlySet<string>;
  roles: ReadonlySet<string>;
  tokenId: string;
  expiresAt: number;
  /** True for `client_credentials` tokens (the subject is the client itself). */
  isService: boolean;
  /** The `sid` claim of a user session's token: its refresh family, so logout can end it. */
  sessionId?: string;
}

export interface JwtVerifierOptions {
  /** Where the issuer publishes its keys; or pass `jwks` directly (tests). */
  jwksUrl?: string;
  jwks?: JWTVerifyGetKey;
  issuer: string;
  audience: string;
  algorithms?: string[];
  /** Returns true when the token id was revoked (logout); checked after the signature. */
  isRevoked?: (jti: string) => Promise<boolean>;
  /**
   * How many verified tokens to remember (by their exact text, until `exp`, at most
   * `cacheMaxAgeMs`), so a client's next request skips the signature check. `0` turns it off.
   * Default: on (10,000) for a remote JWKS, off for a key set passed in (AuthService, tests),
   * where a retired key must stop working at once. Revocation (`isRevoked`) is checked on every
   * call either way.
   */
  cacheSize?: number;
  cacheMaxAgeMs?: number;
}

export type AccessTokenVerifier = (token: string) => Promise<Principal>;

/**
 * Verifies access tokens locally against the issuer's JWKS. Only the configured algorithm,
 * issuer, audience and `typ: at+jwt` pass; `jku`/`x5u`/embedded `jwk` headers are ignored by
 * construction because the key always comes from the configured JWKS URL. A `kid` that is not
 * in the cached set makes jose refetch the set (rate-limited by its cooldown).
 */
export function createAccessTokenVerifier(options: JwtVerifierOptions): AccessTokenVerifier {
  const jwks =
    options.jwks ??
    createRemoteJWKSet(new URL(required(options.jwksUrl, 'jwksUrl')), {
      cooldownDuration: 10_000,
      cacheMaxAge: 10 * 60_000,
    });
  const algorithms = options.algorithms ?? ['ES256'];
  const cache = createVerifiedCache(
    options.cacheSize ?? (options.jwks ? 0 : 10_000),
    options.cacheMaxAgeMs ?? 5 * 60_000,
  );
  return async (token) => {
    const principal = cache.get(token) ?? cache.put(token, await verifySignature(token));
    if (options.isRevoked && (await options.isRevoked(principal.tokenId))) {
      throw new ProblemError(
        401,
        'token_revoked',
        'the access token was revoked',
        {},
        {
          'www-authenticate': `Bearer error="invalid_token"`,
        },
      );
    }
    return principal;
  };

  async function verifySignature(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        typ: 'at+jwt',
        requiredClaims: ['sub', 'jti', 'exp', 'iat'],
        clockTolerance: 5,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) {
        const expired = err instanceof joseErrors.JWTExpired;
        throw new ProblemError(
          401,
          expired ? 'token_expired' : 'invalid_token',
          expired ? 'the access token has expired' : 'the access token is invalid',
          {},
          {
            'www-authenticate': `Bearer error="invalid_token"`,
          },
        );
      }
      throw err;
    }
    const claims = payload as AccessTokenClaims;
    const clientId = typeof claims.client_id === 'string' ? claims.client_id : '';
    return {
      subject: claims.sub,
      clientId,
      scopes: new Set(typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []),
      roles: new Set(
        Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [],
      ),
      tokenId: claims.jti,
      expiresAt: claims.exp,
      isService: claims.sub === `client:${clientId}`,
      ...(typeof claims.sid === 'string' ? { sessionId: claims.sid } : {}),
    };
  }
}

/**
 * Verified principals by token text, each until its `exp` (and at most `maxAgeMs`); bounded,
 * the oldest entry leaves first. Only successful verifications are remembered.
 */
function createVerifiedCache(size: number, maxAgeMs: number) {
  const entries = new Map<string, { principal: Principal; until: number }>();
  return {
    get(token: string): Principal | undefined {
      if (size === 0) return undefined;
      const hit = entries.get(token);
      if (!hit) return undefined;
      if (Date.now() < hit.until) return hit.principal;
      entries.delete(token);
      return undefined;
    },
    put(token: string, principal: Principal): Principal {
      if (size === 0) return principal;
      if (entries.size >= size) entries.delete(entries.keys().next().value!);
      entries.set(token, { principal, until: Math.min(principal.expiresAt * 1000, Date.now() + maxAgeMs) });
      return principal;
    },
  };
}

/** Extracts the bearer token of a request or fails with a 401 problem. */
export function bearerToken(header: string | undefined): string {
  const match = header ? /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim()) : null;
  if (!match?.[1]) {
    throw new ProblemError(
      401,
      'unauthorized',
      'a bearer access token is required',
      {},
      { 'www-authenticate': 'Bearer' },
    );
  }
  return match[1];
}

/**
 * Hono middleware: requires a valid access token carrying every scope in `scopes`, and stores
 * the principal in `c.var.principal`.
 */
export function requireToken(
  verify: AccessTokenVerifier,
  scopes: string[] = [],
): MiddlewareHandler<{ Variables: { principal: Principal } }> {
  return async (c, next) => {
    const principal = await verify(bearerToken(c.req.header('authorization')));
    const missing = scopes.filter((s) => !principal.scopes.has(s));
    if (missing.length > 0) {
      throw new ProblemError(
        403,
        'insufficient_scope',
        `the token lacks the scope ${missing.join(', ')}`,
        {},
        {
          'www-authenticate': `Bearer error="insufficient_scope", scope="${scopes.join(' ')}"`,
        },
      );
    }
    c.set('principal', principal);
    await next();
  };
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`createAccessTokenVerifier: ${name} is required`);
  return value;
}
