import { Hono } from 'hono';
import { requireToken, type Principal } from '../../lib/jwt-verifier.js';
import { jsonBody } from '../http/parse-body.js';
import { refuse } from '../http/refuse.js';
import { requireUser } from '../http/require-user.js';
import type { AuthServices } from '../services.js';
import { passwordChangeBody, passwordResetBody, passwordResetConfirmBody } from './password.schemas.js';

type Env = { Variables: { principal: Principal } };

export type PasswordRoutesDeps = Pick<AuthServices, 'passwords' | 'tokens' | 'requestContext'>;

/** `/v1/auth/password/*`: change (signed in, current password) and reset by emailed code (public). */
export function passwordRoutes(s: PasswordRoutesDeps) {
  const app = new Hono<Env>();
  const userToken = requireToken(s.tokens.verifyAccessToken);

  app.post('/change', userToken, requireUser, async (c) => {
    const principal = c.var.principal;
    const body = await jsonBody(c, passwordChangeBody);
    const result = await s.passwords.change(
      {
        userId: principal.subject,
        keepSessionId: principal.sessionId,
        current: body.current_password,
        next: body.new_password,
      },
      s.requestContext(c),
    );
    if ('error' in result) refuse(result);
    return c.body(null, 204);
  });

  app.post('/reset', async (c) => {
    const body = await jsonBody(c, passwordResetBody);
    const result = await s.passwords.requestReset(body.email, s.requestContext(c));
    if ('error' in result) refuse(result);
    // The same answer whether or not the email has an account.
    return c.json({ expires_at: result.expiresAt.toISOString() }, 202);
  });

  app.post('/reset/confirm', async (c) => {
    const body = await jsonBody(c, passwordResetConfirmBody);
    const result = await s.passwords.confirmReset(
      { email: body.email, code: body.code, next: body.new_password },
      s.requestContext(c),
    );
    if ('error' in result) refuse(result);
    return c.body(null, 204);
  });

  return app;
}
