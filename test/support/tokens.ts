import { randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../../lib/jwt-verifier.js';

export const TEST_ISSUER = 'http://issuer.test';
export const TEST_AUDIENCE = 'velora';

/**
 * A local ES256 issuer for tests of services that verify tokens (wallet, gateway) without
 * running AuthService: same algorithm, header and claims as AuthService's access tokens.
 */
export async function createTestIssuer() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const jwks = { keys: [jwk] };
  const verifier: AccessTokenVerifier = createAccessTokenVerifier({
    jwks: createLocalJWKSet(jwks),
    issuer: TEST_ISSUER,
    audience: TEST_AUDIENCE,
  });
  async function mint(claims: {
    sub: string;
    scope?: string;
    roles?: string[];
    client_id?: string;
    expiresIn?: string;
  }) {
    return new SignJWT({
      scope: claims.scope ?? '',
      roles: claims.roles ?? [],
      client_id: claims.client_id ?? 'test-client',
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setSubject(claims.sub)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(claims.expiresIn ?? '5m')
      .sign(privateKey);
  }
  /** A service token as the orchestrator would hold it (client_credentials). */
  async function serviceToken(scope: string, clientId = 'orchestrator') {
    return mint({ sub: `client:${clientId}`, scope, client_id: clientId });
  }
  return { jwks, verifier, mint, serviceToken, privateKey, kid };
}
