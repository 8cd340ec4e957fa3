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
  return async (token) => {
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
    if (options.isRevoked && (await options.isRevoked(claims.jti))) {
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
    };
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
