import { Hono } from 'hono';
import type { AuthServices } from '../services.js';
import { USER_TOKEN_SCOPES } from '../tokens/scopes.js';

/** `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 / RFC 8414). */
export function discoveryRoutes(s: Pick<AuthServices, 'issuer'>) {
  const app = new Hono();
  app.get('/openid-configuration', (c) => {
    const issuer = s.issuer;
    return c.json(
      {
        issuer,
        authorization_endpoint: `${issuer}/v1/auth/authorize`,
        token_endpoint: `${issuer}/v1/auth/token`,
        revocation_endpoint: `${issuer}/v1/auth/revoke`,
        introspection_endpoint: `${issuer}/v1/auth/introspect`,
        userinfo_endpoint: `${issuer}/v1/auth/me`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        scopes_supported: [
          ...new Set([...USER_TOKEN_SCOPES, 'auth:internal', 'wallet:read', 'wallet:write', 'wallet:admin']),
        ],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'email', 'roles'],
        authorization_response_iss_parameter_supported: true,
      },
      200,
      { 'cache-control': 'public, max-age=300' },
    );
  });
  return app;
}
