import { createRoute, z } from '@hono/zod-openapi';
import { problem } from '../../lib/problem.js';
import { forward } from '../http/forward.js';
import type { GatewayMiddleware } from '../http/route-middleware.js';
import type { Upstream } from '../http/upstream.js';
import {
  AuthorizeForm,
  AuthorizeQuery,
  LoginBody,
  LogoutBody,
  MfaBody,
  OtpSendBody,
  TokenOperationBody,
  MeResponse,
  OtpVerifyBody,
  PasswordChangeBody,
  PasswordResetAccepted,
  PasswordResetBody,
  PasswordResetConfirmBody,
  RegisterBody,
  RegisterResponse,
  TokenRequestBody,
  TokenResponse,
  problemCodes,
  problemResponses,
} from '../openapi/schemas.js';
import { bearerSecurity, createRouter } from '../openapi/router.js';
import type { Register } from './registration.js';

const tokenJson = { 'application/json': { schema: TokenResponse } };
const anyJson = { 'application/json': { schema: z.object({}).catchall(z.unknown()) } };

const register = createRoute({
  method: 'post',
  path: '/register',
  tags: ['Auth'],
  summary: 'Sign up: runs the onboarding saga (user + default wallet)',
  request: { body: { required: true, content: { 'application/json': { schema: RegisterBody } } } },
  responses: {
    201: { description: 'registered', content: { 'application/json': { schema: RegisterResponse } } },
    ...problemResponses(400, 413, 415, 422, 429, 503, 504),
  },
});

const login = createRoute({
  method: 'post',
  path: '/login',
  tags: ['Auth'],
  summary: 'Password login: tokens, or an MFA challenge',
  request: { body: { required: true, content: { 'application/json': { schema: LoginBody } } } },
  responses: {
    200: { description: 'tokens or MFA challenge', content: tokenJson },
    ...problemResponses(400, 401, 429, 503),
  },
});

const otpVerify = createRoute({
  method: 'post',
  path: '/otp/verify',
  tags: ['Auth'],
  summary: 'Answer an MFA challenge',
  request: { body: { required: true, content: { 'application/json': { schema: OtpVerifyBody } } } },
  responses: {
    200: { description: 'tokens', content: tokenJson },
    ...problemResponses(400, 401, 422, 429, 503),
  },
});

const token = createRoute({
  method: 'post',
  path: '/token',
  tags: ['Auth'],
  summary: 'OAuth 2 token endpoint (refresh_token, authorization_code + PKCE)',
  description:
    '`client_credentials` is not served here: services get their tokens from AuthService inside the deployment.',
  request: {
    body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: TokenRequestBody } } },
  },
  responses: {
    200: { description: 'RFC 6749 token response', content: tokenJson },
    400: { description: 'RFC 6749 error', content: anyJson },
    401: { description: 'client authentication failed', content: anyJson },
    ...problemResponses(429, 503),
  },
});

const logout = createRoute({
  method: 'post',
  path: '/logout',
  tags: ['Auth'],
  summary: 'End the session: the refresh family and the current access token stop working at once',
  security: bearerSecurity,
  request: { body: { required: false, content: { 'application/json': { schema: LogoutBody } } } },
  responses: { 204: { description: 'logged out' }, ...problemResponses(400, 401, 429, 503) },
});

const me = createRoute({
  method: 'get',
  path: '/me',
  tags: ['Auth'],
  summary: 'The signed-in user',
  security: bearerSecurity,
  responses: {
    200: { description: 'user', content: { 'application/json': { schema: MeResponse } } },
    ...problemResponses(401, 429, 503),
  },
});

/**
 * A forwarded answer is AuthService's own response, not one the route builds; its shape is
 * AuthService's contract (documented above), so it is passed through untyped.
 */
const relay = (response: Promise<Response>) => response as Promise<never>;

const otpSend = createRoute({
  method: 'post',
  path: '/otp/send',
  tags: ['Auth'],
  summary: 'Send an email-verification code',
  request: { body: { required: true, content: { 'application/json': { schema: OtpSendBody } } } },
  responses: { 202: { description: 'challenge sent', content: anyJson }, ...problemResponses(400, 429, 503) },
});

const mfa = createRoute({
  method: 'post',
  path: '/mfa',
  tags: ['Auth'],
  summary: 'Turn login MFA on or off (needs the password)',
  security: bearerSecurity,
  request: { body: { required: true, content: { 'application/json': { schema: MfaBody } } } },
  responses: {
    200: { description: 'MFA setting', content: anyJson },
    ...problemResponses(400, 401, 403, 429, 503),
  },
});

const passwordChange = createRoute({
  method: 'post',
  path: '/password/change',
  tags: ['Auth'],
  summary: 'Change the password (needs the current one); every other session ends',
  description:
    "The caller's own session stays signed in; every other refresh family is revoked and its access tokens stop working at once. Wrong current passwords count toward the login lockout. The owner is notified.",
  security: bearerSecurity,
  request: { body: { required: true, content: { 'application/json': { schema: PasswordChangeBody } } } },
  responses: {
    204: { description: 'password changed' },
    ...problemResponses(400, 503),
    ...problemCodes({
      401: ['invalid_credentials', 'unauthorized', 'invalid_token', 'token_expired', 'token_revoked'],
      403: ['user_token_required'],
      422: ['weak_password'],
      429: ['account_locked', 'rate_limited'],
    }),
  },
});

const passwordReset = createRoute({
  method: 'post',
  path: '/password/reset',
  tags: ['Auth'],
  summary: 'Ask for a password-reset code by email',
  description:
    'The same `202` for any email: a code (purpose `password_reset`, 5 minutes) goes only to an active account. One request per email per minute, 10 per hour.',
  request: { body: { required: true, content: { 'application/json': { schema: PasswordResetBody } } } },
  responses: {
    202: { description: 'accepted', content: { 'application/json': { schema: PasswordResetAccepted } } },
    ...problemResponses(400, 503),
    ...problemCodes({ 429: ['otp_cooldown', 'rate_limited'] }),
  },
});

const passwordResetConfirm = createRoute({
  method: 'post',
  path: '/password/reset/confirm',
  tags: ['Auth'],
  summary: 'Set a new password with the emailed code; every session ends',
  description:
    'Every session and refresh family of the account is revoked and its login lockouts are cleared; the owner is notified. 5 wrong codes per hour end the code (`otp_exhausted`). A weak password is refused before the code is checked, so it does not spend the code.',
  request: {
    body: { required: true, content: { 'application/json': { schema: PasswordResetConfirmBody } } },
  },
  responses: {
    204: { description: 'password reset' },
    ...problemResponses(400, 503),
    ...problemCodes({
      422: ['weak_password', 'otp_invalid', 'otp_expired', 'otp_exhausted'],
      429: ['rate_limited'],
    }),
  },
});

/**
 * Revocation stays public: AuthService revokes a token only for the client it was issued to.
 * Introspection is not forwarded at all (services ask AuthService directly), so client secrets
 * cannot be tried against it from the internet.
 */
const revoke = createRoute({
  method: 'post',
  path: '/revoke',
  tags: ['Auth'],
  summary: 'Revoke a refresh or access token (RFC 7009)',
  request: {
    body: {
      required: true,
      content: { 'application/x-www-form-urlencoded': { schema: TokenOperationBody } },
    },
  },
  responses: {
    200: { description: 'RFC 7009 answer', content: anyJson },
    400: { description: 'RFC 6749 error', content: anyJson },
    401: { description: 'client authentication failed', content: anyJson },
    ...problemResponses(429, 503),
  },
});

/**
 * Grants the public gateway forwards. `client_credentials` is for services inside the
 * deployment, which get their tokens from AuthService directly; from the internet it would only
 * be a place to guess client secrets (and lock the real services out).
 */
const PUBLIC_GRANTS: ReadonlySet<string> = new Set(['refresh_token', 'authorization_code']);

const htmlPage = { 'text/html': { schema: z.string() } };
const authorizePage = createRoute({
  method: 'get',
  path: '/authorize',
  tags: ['Auth'],
  summary: 'OAuth 2.1 authorization endpoint (code + PKCE S256): the sign-in page',
  request: { query: AuthorizeQuery },
  responses: {
    200: { description: 'sign-in page', content: htmlPage },
    302: { description: 'redirect back to the client with an error' },
    400: { description: 'unknown client or redirect URI', content: htmlPage },
    ...problemResponses(429, 503),
  },
});
const authorizeSubmit = createRoute({
  method: 'post',
  path: '/authorize',
  tags: ['Auth'],
  summary: 'Sign-in form submission of the authorization endpoint',
  request: {
    body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: AuthorizeForm } } },
  },
  responses: {
    200: { description: 'next page (OTP step)', content: htmlPage },
    302: { description: 'redirect back to the client with a code' },
    400: { description: 'expired request', content: htmlPage },
    401: { description: 'wrong credentials', content: htmlPage },
    ...problemResponses(429, 503),
  },
});

/** Re-encodes a validated form: only the fields the schema knows reach AuthService. */
function formText(form: Record<string, unknown>): { text: string; contentType: string } {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (typeof v === 'string') params.set(k, v);
  return { text: params.toString(), contentType: 'application/x-www-form-urlencoded' };
}

export interface AuthRouteDeps {
  /** AuthService: its public routes are forwarded. */
  auth: Upstream;
  /** A valid, unrevoked token, for the routes that act for a signed-in user. */
  authn: GatewayMiddleware;
  /** The stricter per-IP `auth` budget every route here counts on. */
  authBudget: GatewayMiddleware;
  registerUser: Register;
}

/** `/v1/auth`: AuthService's public routes behind the stricter per-IP budget, plus registration. */
export function createAuthRoutes({ auth, authn, authBudget, registerUser }: AuthRouteDeps) {
  const app = createRouter();
  app.use('*', authBudget);

  const json = (text: unknown) => ({ text: JSON.stringify(text), contentType: 'application/json' });

  app.openapi(register, async (c) => {
    const result = await registerUser(c, c.req.valid('json'));
    return c.json({ user_id: result.user_id, wallet_id: result.wallet_id, status: result.status }, 201);
  });

  app.openapi(login, async (c) =>
    relay(forward(auth, c, { path: '/v1/auth/login', body: json(c.req.valid('json')) })),
  );

  app.openapi(otpVerify, async (c) =>
    relay(forward(auth, c, { path: '/v1/auth/otp/verify', body: json(c.req.valid('json')) })),
  );

  // Client authentication may come as HTTP Basic: Authorization is passed on.
  app.openapi(token, async (c) => {
    const form = c.req.valid('form');
    if (!PUBLIC_GRANTS.has(form.grant_type)) {
      const description = 'supported grants here: authorization_code, refresh_token';
      return c.json(
        {
          error: 'unsupported_grant_type',
          error_description: description,
          ...problem(400, 'unsupported_grant_type', description),
        },
        400,
        { 'cache-control': 'no-store' },
      );
    }
    return relay(forward(auth, c, { path: '/v1/auth/token', body: formText(form), withAuthorization: true }));
  });
  app.openapi(revoke, async (c) =>
    relay(
      forward(auth, c, {
        path: '/v1/auth/revoke',
        body: formText(c.req.valid('form')),
        withAuthorization: true,
      }),
    ),
  );

  app.openapi(authorizePage, async (c) => {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(c.req.valid('query'))) if (typeof v === 'string') query.set(k, v);
    return relay(forward(auth, c, { path: `/v1/auth/authorize?${query.toString()}` }));
  });
  app.openapi(authorizeSubmit, async (c) =>
    relay(forward(auth, c, { path: '/v1/auth/authorize', body: formText(c.req.valid('form')) })),
  );

  app.openapi(otpSend, async (c) =>
    relay(forward(auth, c, { path: '/v1/auth/otp/send', body: json(c.req.valid('json')) })),
  );

  app.openapi(logout, async (c) =>
    relay(
      forward(auth, c, {
        path: '/v1/auth/logout',
        body: json(c.req.valid('json')),
        withAuthorization: true,
      }),
    ),
  );

  app.use('/mfa', authn);
  app.openapi(mfa, async (c) =>
    relay(
      forward(auth, c, {
        path: '/v1/auth/mfa',
        body: json(c.req.valid('json')),
        withAuthorization: true,
      }),
    ),
  );

  app.use('/password/change', authn);
  app.openapi(passwordChange, async (c) =>
    relay(
      forward(auth, c, {
        path: '/v1/auth/password/change',
        body: json(c.req.valid('json')),
        withAuthorization: true,
      }),
    ),
  );
  app.openapi(passwordReset, async (c) =>
    relay(forward(auth, c, { path: '/v1/auth/password/reset', body: json(c.req.valid('json')) })),
  );
  app.openapi(passwordResetConfirm, async (c) =>
    relay(forward(auth, c, { path: '/v1/auth/password/reset/confirm', body: json(c.req.valid('json')) })),
  );

  app.use('/me', authn);
  app.openapi(me, async (c) => relay(forward(auth, c, { path: '/v1/auth/me', withAuthorization: true })));

  return app;
}

/** `/.well-known/*`: AuthService's discovery document and signing keys, passed through. */
export function createWellKnownRoutes({ auth }: { auth: Upstream }) {
  const app = createRouter();
  const discovery = createRoute({
    method: 'get',
    path: '/openid-configuration',
    tags: ['Auth'],
    summary: "AuthService's OpenID Connect discovery document",
    responses: { 200: { description: 'discovery document', content: anyJson }, ...problemResponses(503) },
  });
  const jwks = createRoute({
    method: 'get',
    path: '/jwks.json',
    tags: ['Auth'],
    summary: "AuthService's public signing keys",
    responses: { 200: { description: 'JWK set', content: anyJson }, ...problemResponses(503) },
  });
  app.openapi(discovery, async (c) => relay(forward(auth, c, { path: '/.well-known/openid-configuration' })));
  app.openapi(jwks, async (c) => relay(forward(auth, c, { path: '/.well-known/jwks.json' })));
  return app;
}
