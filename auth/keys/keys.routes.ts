import { Hono } from 'hono';
import { requireToken, type Principal } from '../../lib/jwt-verifier.js';
import { fail } from '../http/errors.js';
import type { AuthServices } from '../services.js';
import { FIRST_PARTY_CLIENT_ID } from '../tokens/scopes.js';
import { rotateSigningKeys } from './rotate-signing-keys.js';

/** `GET /.well-known/jwks.json`: every key a verifier may still need. */
export function jwksRoutes(s: Pick<AuthServices, 'keys'>) {
  const app = new Hono();
  app.get('/jwks.json', async (c) =>
    c.json(await s.keys.jwks(), 200, { 'cache-control': 'public, max-age=60' }),
  );
  return app;
}

/** `POST /v1/auth/keys/rotate`: the operator endpoint (a user token with role operator or admin). */
export function keyAdminRoutes(s: Pick<AuthServices, 'keys' | 'audit' | 'tokens' | 'requestContext'>) {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  app.post('/rotate', requireToken(s.tokens.verifyAccessToken), async (c) => {
    const principal = c.var.principal;
    // Only through the first-party client: a third-party app acting for an operator may not rotate.
    const operator = principal.roles.has('operator') || principal.roles.has('admin');
    if (principal.isService || principal.clientId !== FIRST_PARTY_CLIENT_ID || !operator) {
      fail(403, 'forbidden', 'key rotation needs the operator or admin role through the first-party app');
    }
    const result = await rotateSigningKeys(s, { actor: principal.subject, context: s.requestContext(c) });
    return c.json({
      kid: result.kid,
      activates_at: result.activatesAt.toISOString(),
      retired_kid: result.retiredKid ?? null,
      removed_kids: result.removed,
    });
  });
  return app;
}
