import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { OtpError } from '../otp/otp.errors.js';
import type { AuthServices } from '../services.js';
import { UserError } from '../users/users.errors.js';
import { EMAIL_MAX_LENGTH, PASSWORD_INPUT_MAX_LENGTH } from '../users/users.schemas.js';
import type { AuthorizationRequest } from './authorization-codes.js';
import { grantScope } from './grant-scope.js';
import { errorPage, loginPage, otpPage } from './login-page.js';

const PAGE_HEADERS = {
  'cache-control': 'no-store',
  // The login form must never be framed (clickjacking) nor load anything from elsewhere.
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
};

function html(c: Context, body: string, status = 200) {
  return c.html(body, status as ContentfulStatusCode, PAGE_HEADERS);
}

function redirectWith(c: Context, redirectUri: string, params: Record<string, string | null>) {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.set(k, v);
  return c.redirect(url.toString(), 302);
}

/**
 * The authorization endpoint (OAuth 2.1 authorization code + PKCE S256): validates the client
 * and its exact redirect URI before anything else, then serves a small sign-in page (with the
 * OTP step when the user enabled it) and redirects back with a single-use 60-second code.
 */
export function authorizeRoutes(
  s: Pick<AuthServices, 'clients' | 'login' | 'authorizationCodes' | 'audit' | 'requestContext' | 'issuer'>,
) {
  const app = new Hono();

  app.get('/authorize', async (c) => {
    const q = c.req.query();
    const client = q.client_id ? await s.clients.find(q.client_id) : undefined;
    if (!client || !client.grant_types.includes('authorization_code'))
      return html(c, errorPage('Unknown client.'), 400);
    // Exact string match only: no prefix, wildcard or normalisation (RFC 9700 §4.1.1).
    if (!q.redirect_uri || !client.redirect_uris.includes(q.redirect_uri))
      return html(c, errorPage('The redirect URI is not registered for this client.'), 400);
    const back = (error: string, description: string) =>
      redirectWith(c, q.redirect_uri!, {
        error,
        error_description: description,
        state: q.state ?? null,
        iss: s.issuer,
      });
    if (q.response_type !== 'code')
      return back('unsupported_response_type', 'only response_type=code is supported');
    if (q.code_challenge_method !== 'S256')
      return back('invalid_request', 'PKCE with code_challenge_method=S256 is required');
    if (!q.code_challenge || !/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge))
      return back('invalid_request', 'code_challenge must be a base64url SHA-256');
    // Only what the client asks for: a request without a scope gets none.
    const scope = grantScope(q.scope, client.scopes, []);
    if (scope === undefined) return back('invalid_scope', 'a requested scope is not allowed for this client');
    const request: AuthorizationRequest = {
      client_id: client.client_id,
      redirect_uri: q.redirect_uri,
      scope,
      state: q.state ?? null,
      nonce: q.nonce ?? null,
      code_challenge: q.code_challenge,
    };
    const requestId = await s.authorizationCodes.saveRequest(request);
    return html(c, loginPage({ requestId, clientName: client.name }));
  });

  app.post('/authorize', async (c) => {
    const form = await c.req.parseBody();
    const field = (name: string) => (typeof form[name] === 'string' ? form[name] : '');
    const requestId = field('request_id');
    const request = await s.authorizationCodes.loadRequest(requestId);
    if (!request)
      return html(c, errorPage('This sign-in request has expired. Start again from the application.'), 400);
    const client = await s.clients.find(request.client_id);
    if (!client) return html(c, errorPage('Unknown client.'), 400);
    const context = s.requestContext(c);

    let userId: string;
    if (field('challenge_id')) {
      const result = await s.login.completeChallenge(field('challenge_id'), field('code'), context);
      if ('error' in result) {
        if (result.error === OtpError.Invalid) {
          return html(
            c,
            otpPage({ requestId, challengeId: field('challenge_id'), error: 'The code is not correct.' }),
            401,
          );
        }
        await s.authorizationCodes.dropRequest(requestId);
        return redirectWith(c, request.redirect_uri, {
          error: 'access_denied',
          error_description: 'sign-in failed',
          state: request.state,
          iss: s.issuer,
        });
      }
      userId = result.user.id;
    } else {
      const result = await s.login.authenticate(
        {
          email: field('email').slice(0, EMAIL_MAX_LENGTH),
          password: field('password').slice(0, PASSWORD_INPUT_MAX_LENGTH),
        },
        client.client_id,
        context,
      );
      if ('error' in result) {
        const locked = result.error === UserError.AccountLocked || result.error === OtpError.Cooldown;
        const message = locked
          ? 'Too many attempts. Try again later.'
          : result.error === UserError.AccountNotActive
            ? 'This account is not active.'
            : 'The email or password is not correct.';
        const res = html(
          c,
          loginPage({
            requestId,
            clientName: client.name,
            error: message,
            email: field('email').slice(0, EMAIL_MAX_LENGTH),
          }),
          locked ? 429 : 401,
        );
        if ('retryAfterSeconds' in result) res.headers.set('retry-after', String(result.retryAfterSeconds));
        return res;
      }
      if ('mfaRequired' in result) return html(c, otpPage({ requestId, challengeId: result.challengeId }));
      userId = result.user.id;
    }

    await s.authorizationCodes.dropRequest(requestId);
    const code = await s.authorizationCodes.issueCode({
      ...request,
      user_id: userId,
      auth_time: Math.floor(Date.now() / 1000),
    });
    await s.audit({
      event: 'authorization_code_issued',
      outcome: 'success',
      subject: userId,
      clientId: client.client_id,
      context,
    });
    return redirectWith(c, request.redirect_uri, { code, state: request.state, iss: s.issuer });
  });

  return app;
}
