import { Hono } from 'hono';
import { requireToken, type Principal } from '../../lib/jwt-verifier.js';
import { fail, NO_STORE } from '../http/errors.js';
import { jsonBody } from '../http/parse-body.js';
import { refuse } from '../http/refuse.js';
import { requireUser } from '../http/require-user.js';
import type { AuthServices } from '../services.js';
import { FIRST_PARTY_CLIENT_ID, firstPartyScope } from '../tokens/scopes.js';
import { UserError } from './users.errors.js';
import { loginBody, logoutBody, mfaBody, otpSendBody, otpVerifyBody } from './users.schemas.js';

type Env = { Variables: { principal: Principal } };

export type UsersRoutesDeps = Pick<
  AuthServices,
  'login' | 'emailVerification' | 'otp' | 'tokens' | 'users' | 'passwords' | 'requestContext'
>;

/** Public session endpoints under `/v1/auth` (proxied by the gateway). */
export function usersRoutes(s: UsersRoutesDeps) {
  const app = new Hono<Env>();
  const userToken = requireToken(s.tokens.verifyAccessToken);

  app.post('/login', async (c) => {
    const body = await jsonBody(c, loginBody);
    const startedAt = Date.now();
    const result = await s.login.authenticate(body, FIRST_PARTY_CLIENT_ID, s.requestContext(c));
    if ('error' in result) refuse(result);
    if ('mfaRequired' in result)
      return c.json({ mfa_required: true, challenge_id: result.challengeId }, 200, NO_STORE);
    const tokens = await s.tokens.startSession(
      result.user,
      FIRST_PARTY_CLIENT_ID,
      firstPartyScope(result.user.roles),
    );
    // A password change or reset that began while this password was being checked: the session
    // was opened with the old password, so it ends. The change records its time before it
    // revokes, so a session this check misses is one the revocation sees.
    if (await s.passwords.changedSince(result.user.id, startedAt)) {
      const row = await s.tokens.inspectRefreshToken(tokens.refresh_token ?? '');
      if (row) await s.tokens.endSession(result.user.id, row.family_id, 'password_changed');
      refuse(UserError.InvalidCredentials);
    }
    return c.json(tokens, 200, NO_STORE);
  });

  app.post('/otp/verify', async (c) => {
    const body = await jsonBody(c, otpVerifyBody);
    const context = s.requestContext(c);
    const challenge = await s.otp.challenge(body.challenge_id);
    if (challenge?.purpose === 'verify_email') {
      const result = await s.emailVerification.verify(body.challenge_id, body.code, context);
      if ('error' in result) refuse(result);
      return c.json({ email_verified: true });
    }
    const result = await s.login.completeChallenge(body.challenge_id, body.code, context);
    if ('error' in result) refuse(result);
    return c.json(
      await s.tokens.startSession(result.user, FIRST_PARTY_CLIENT_ID, firstPartyScope(result.user.roles)),
      200,
      NO_STORE,
    );
  });

  app.post('/otp/send', async (c) => {
    const body = await jsonBody(c, otpSendBody);
    const result = await s.emailVerification.send(body.email, s.requestContext(c));
    if ('error' in result) refuse(result);
    return c.json({ challenge_id: result.challengeId, expires_at: result.expiresAt.toISOString() }, 202);
  });

  app.get('/me', userToken, requireUser, async (c) => {
    const principal = c.var.principal;
    const user = await s.users.findById(principal.subject);
    if (user?.status !== 'active')
      fail(
        401,
        'invalid_token',
        'the access token is invalid',
        {},
        { 'www-authenticate': 'Bearer error="invalid_token"' },
      );
    return c.json({
      user_id: user.id,
      sub: user.id,
      email: user.email,
      email_verified: user.email_verified_at !== null,
      roles: user.roles,
      status: user.status,
      mfa_enabled: user.mfa_enabled,
    });
  });

  app.post('/logout', userToken, async (c) => {
    const principal = c.var.principal;
    const body = c.req.header('content-type')?.startsWith('application/json')
      ? await jsonBody(c, logoutBody)
      : {};
    await s.tokens.logout(principal, body.refresh_token, s.requestContext(c));
    return c.body(null, 204);
  });

  app.post('/mfa', userToken, requireUser, async (c) => {
    const principal = c.var.principal;
    const body = await jsonBody(c, mfaBody);
    const result = await s.login.setMfa(principal.subject, body.password, body.enabled, s.requestContext(c));
    if ('error' in result) refuse(result);
    return c.json({ mfa_enabled: result.mfaEnabled });
  });

  return app;
}
