import { Hono } from 'hono';
import type { Principal } from '../../lib/jwt-verifier.js';
import { jsonBody } from '../http/parse-body.js';
import { refuse } from '../http/refuse.js';
import type { AuthServices } from '../services.js';
import { createUserBody, disableUserBody, registrationBody } from './users.schemas.js';

type Env = { Variables: { principal: Principal } };

export type InternalUsersRoutesDeps = Pick<
  AuthServices,
  'registrations' | 'users' | 'idempotency' | 'requestContext'
>;

/**
 * Account endpoints for the orchestrator (docs/internal-api.md). Mounted under `/internal`
 * behind the service-token check.
 */
export function internalUsersRoutes(s: InternalUsersRoutesDeps) {
  const app = new Hono<Env>();
  const idem = s.idempotency();

  app.post('/registrations', idem, async (c) => {
    const body = await jsonBody(c, registrationBody);
    const result = await s.registrations.park(body, s.requestContext(c));
    if ('error' in result) refuse(result);
    return c.json(
      { registration_id: result.registrationId, expires_at: result.expiresAt.toISOString() },
      201,
    );
  });

  app.post('/users', idem, async (c) => {
    const body = await jsonBody(c, createUserBody);
    const result = await s.registrations.createUser(body.registration_id, s.requestContext(c));
    if (typeof result === 'string') refuse(result);
    if (result.existing)
      return c.json({ user_id: result.userId, status: result.status, existing: true }, 200);
    return c.json(
      { user_id: result.userId, email: result.email, status: result.status, existing: false },
      201,
    );
  });

  app.post('/users/:id/activate', idem, async (c) => {
    const result = await s.users.activate(c.req.param('id'));
    if (typeof result === 'string') refuse(result);
    return c.json({ user_id: result.id, status: result.status });
  });

  app.post('/users/:id/disable', idem, async (c) => {
    const body = await jsonBody(c, disableUserBody);
    const result = await s.users.disable(c.req.param('id'), body.reason, s.requestContext(c));
    if (typeof result === 'string') refuse(result);
    return c.json({ user_id: result.id, status: result.status });
  });

  app.get('/users/:id', async (c) => {
    const result = await s.users.view(c.req.param('id'));
    if (typeof result === 'string') refuse(result);
    return c.json(result);
  });

  return app;
}
