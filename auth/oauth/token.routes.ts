import { Hono, type Context } from 'hono';
import { ProblemError } from '../../lib/problem.js';
import { NO_STORE } from '../http/errors.js';
import { formBody } from '../http/parse-body.js';
import type { AuthServices } from '../services.js';
import { FIRST_PARTY_CLIENT_ID, OPENID_SCOPE } from '../tokens/scopes.js';
import type { TokenResponse } from '../tokens/tokens.service.js';
import { verifyPkce } from './authorization-codes.js';
import { grantScope } from './grant-scope.js';
import { OAuthError, oauthErrorResponse } from './oauth.errors.js';

export type TokenRoutesDeps = Pick<
  AuthServices,
  | 'clients'
  | 'tokens'
  | 'users'
  | 'passwords'
  | 'authorizationCodes'
  | 'audit'
  | 'requestContext'
  | 'issuer'
  | 'audience'
>;

/** Token (RFC 6749), revocation (RFC 7009) and introspection (RFC 7662) endpoints under `/v1/auth`. */
export function tokenRoutes(s: TokenRoutesDeps) {
  const app = new Hono();
  // A malformed form is an OAuth invalid_request, in the OAuth error shape these clients read.
  app.onError((err, c) => {
    if (err instanceof ProblemError)
      return oauthErrorResponse(c, OAuthError.InvalidRequest, err.problem.detail);
    throw err;
  });

  /** The calling client, or the OAuth error response that refuses it. */
  async function clientOf(c: Context, form: Record<string, string>, defaultPublicClientId?: string) {
    const result = await s.clients.authenticate({
      authorization: c.req.header('authorization'),
      form,
      ...(defaultPublicClientId ? { defaultPublicClientId } : {}),
      context: s.requestContext(c),
    });
    return 'error' in result
      ? oauthErrorResponse(c, result.error, result.description, result.headers)
      : result;
  }

  app.post('/token', async (c) => {
    const form = await formBody(c);
    const context = s.requestContext(c);
    switch (form.grant_type) {
      case 'client_credentials': {
        const caller = await clientOf(c, form);
        if (caller instanceof Response) return caller;
        const { client, authenticated } = caller;
        if (!authenticated)
          return oauthErrorResponse(
            c,
            OAuthError.InvalidClient,
            'client_credentials needs a confidential client',
          );
        if (!client.grant_types.includes('client_credentials')) {
          return oauthErrorResponse(
            c,
            OAuthError.UnauthorizedClient,
            'the client may not use client_credentials',
          );
        }
        const scope = grantScope(form.scope, client.scopes);
        if (scope === undefined)
          return oauthErrorResponse(
            c,
            OAuthError.InvalidScope,
            'a requested scope is not granted to the client',
          );
        const access = await s.tokens.issueAccessToken({
          subject: `client:${client.client_id}`,
          clientId: client.client_id,
          scope,
          roles: [],
        });
        await s.audit({
          event: 'token_issued',
          outcome: 'success',
          subject: `client:${client.client_id}`,
          clientId: client.client_id,
          context,
          details: { grant: 'client_credentials', jti: access.jti },
        });
        const body: TokenResponse = {
          access_token: access.token,
          token_type: 'Bearer',
          expires_in: access.expiresIn,
          scope,
        };
        return c.json(body, 200, NO_STORE);
      }
      case 'refresh_token': {
        const caller = await clientOf(c, form, FIRST_PARTY_CLIENT_ID);
        if (caller instanceof Response) return caller;
        const { client } = caller;
        if (!client.grant_types.includes('refresh_token')) {
          return oauthErrorResponse(c, OAuthError.UnauthorizedClient, 'the client may not use refresh_token');
        }
        if (!form.refresh_token)
          return oauthErrorResponse(c, OAuthError.InvalidRequest, 'refresh_token is required');
        const result = await s.tokens.refresh(form.refresh_token, client.client_id, context);
        if (typeof result === 'string')
          return oauthErrorResponse(
            c,
            OAuthError.InvalidGrant,
            'the refresh token is invalid, expired or revoked',
          );
        return c.json(result, 200, NO_STORE);
      }
      case 'authorization_code': {
        const caller = await clientOf(c, form);
        if (caller instanceof Response) return caller;
        const { client } = caller;
        if (!client.grant_types.includes('authorization_code')) {
          return oauthErrorResponse(
            c,
            OAuthError.UnauthorizedClient,
            'the client may not use authorization_code',
          );
        }
        if (!form.code || !form.code_verifier || !form.redirect_uri) {
          return oauthErrorResponse(
            c,
            OAuthError.InvalidRequest,
            'code, code_verifier and redirect_uri are required',
          );
        }
        const grant = await s.authorizationCodes.redeemCode(form.code);
        const valid =
          grant !== undefined &&
          grant.client_id === client.client_id &&
          grant.redirect_uri === form.redirect_uri &&
          verifyPkce(form.code_verifier, grant.code_challenge);
        if (!grant || !valid) {
          await s.audit({
            event: 'token_issued',
            outcome: 'failure',
            clientId: client.client_id,
            context,
            details: { grant: 'authorization_code', reason: 'invalid_code' },
          });
          return oauthErrorResponse(
            c,
            OAuthError.InvalidGrant,
            'the authorization code is invalid, expired, already used or does not match',
          );
        }
        const user = await s.users.findById(grant.user_id);
        if (user?.status !== 'active')
          return oauthErrorResponse(c, OAuthError.InvalidGrant, 'the user is not active');
        // The sign-in behind this code used a password that has been changed since (a reset):
        // it must not open a session after the reset ended all the others.
        if (await s.passwords.changedSince(user.id, grant.auth_time * 1000))
          return oauthErrorResponse(
            c,
            OAuthError.InvalidGrant,
            'the password changed after this sign-in; sign in again',
          );
        // What the user approved for this client, narrowed to what the user may hold (scopes.ts).
        const tokens: TokenResponse = await s.tokens.startSession(user, client.client_id, grant.scope);
        if (!client.grant_types.includes('refresh_token')) delete tokens.refresh_token;
        if (tokens.scope.split(' ').includes(OPENID_SCOPE))
          tokens.id_token = await s.tokens.issueIdToken({
            clientId: client.client_id,
            userId: user.id,
            nonce: grant.nonce,
            authTime: grant.auth_time,
          });
        await s.audit({
          event: 'token_issued',
          outcome: 'success',
          subject: user.id,
          clientId: client.client_id,
          context,
          details: { grant: 'authorization_code' },
        });
        return c.json(tokens, 200, NO_STORE);
      }
      case undefined:
        return oauthErrorResponse(c, OAuthError.InvalidRequest, 'grant_type is required');
      default:
        // No password grant and no implicit flow (OAuth 2.1).
        return oauthErrorResponse(
          c,
          OAuthError.UnsupportedGrantType,
          'supported grants: authorization_code, client_credentials, refresh_token',
        );
    }
  });

  app.post('/revoke', async (c) => {
    const form = await formBody(c);
    const caller = await clientOf(c, form, FIRST_PARTY_CLIENT_ID);
    if (caller instanceof Response) return caller;
    const { client } = caller;
    if (!form.token) return oauthErrorResponse(c, OAuthError.InvalidRequest, 'token is required');
    await s.tokens.revoke(form.token, client.client_id, s.requestContext(c));
    // RFC 7009 §2.2: unknown or foreign tokens get the same 200, so revocation is no oracle.
    return c.body(null, 200, NO_STORE);
  });

  app.post('/introspect', async (c) => {
    const form = await formBody(c);
    const caller = await clientOf(c, form);
    if (caller instanceof Response) return caller;
    const { client, authenticated } = caller;
    if (!authenticated)
      return oauthErrorResponse(c, OAuthError.InvalidClient, 'introspection needs a confidential client');
    if (!form.token) return oauthErrorResponse(c, OAuthError.InvalidRequest, 'token is required');
    const inactive = c.json({ active: false }, 200, NO_STORE);
    if (form.token_type_hint !== 'refresh_token') {
      const principal = await s.tokens.verifyAccessToken(form.token).catch(() => undefined);
      if (principal) {
        if (!principal.isService) {
          const user = await s.users.findById(principal.subject);
          if (user?.status !== 'active') return inactive;
        }
        return c.json(
          {
            active: true,
            token_type: 'Bearer',
            scope: [...principal.scopes].join(' '),
            client_id: principal.clientId,
            sub: principal.subject,
            roles: [...principal.roles],
            exp: principal.expiresAt,
            jti: principal.tokenId,
            iss: s.issuer,
            aud: s.audience,
          },
          200,
          NO_STORE,
        );
      }
    }
    const refresh = await s.tokens.inspectRefreshToken(form.token);
    const live = refresh && !refresh.used_at && !refresh.revoked_at && refresh.expires_at > new Date();
    // A client may only learn about refresh tokens issued to itself.
    if (!refresh || !live || refresh.client_id !== client.client_id) return inactive;
    return c.json(
      {
        active: true,
        token_type: 'refresh_token',
        scope: refresh.scope,
        client_id: refresh.client_id,
        sub: refresh.user_id,
        exp: Math.floor(refresh.expires_at.getTime() / 1000),
        iat: Math.floor(refresh.created_at.getTime() / 1000),
        iss: s.issuer,
      },
      200,
      NO_STORE,
    );
  });

  return app;
}
