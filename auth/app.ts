import { Hono } from 'hono';
import { sql } from 'kysely';
import type { Principal } from '../lib/jwt-verifier.js';
import { createServiceApp, probe } from '../lib/service-app.js';
import { cacheVerifiedServiceTokens, keyPublishedIn, requireServiceToken } from './http/service-token.js';
import { jwksRoutes, keyAdminRoutes } from './keys/keys.routes.js';
import { authorizeRoutes } from './oauth/authorize.routes.js';
import { discoveryRoutes } from './oauth/discovery.routes.js';
import { tokenRoutes } from './oauth/token.routes.js';
import { devOutboxRoutes, internalOtpRoutes } from './otp/otp.routes.js';
import { passwordRoutes } from './password/password.routes.js';
import { createAuthServices, type AuthDeps, type AuthServices } from './services.js';
import { internalUsersRoutes } from './users/internal-users.routes.js';
import { usersRoutes } from './users/users.routes.js';

type Env = { Variables: { principal: Principal } };

/**
 * AuthService's HTTP application: public session and OAuth endpoints, discovery and JWKS,
 * service-only `/internal/*`, and the dev outbox when OTP_DELIVERY=dev. Tests drive it with
 * `app.request()`; `main.ts` serves it.
 */
export function createAuthApp(deps: AuthDeps): { app: Hono<Env>; services: AuthServices } {
  const { app, registry } = createServiceApp<Env>({
    service: 'auth',
    log: deps.log,
    readiness: async () => ({
      postgres: await probe(() => sql`select 1`.execute(deps.db)),
      redis: await probe(() => deps.redis.ping()),
    }),
  });
  const services = createAuthServices({ ...deps, registry });

  app.route('/.well-known', jwksRoutes(services));
  app.route('/.well-known', discoveryRoutes(services));
  app.route('/v1/auth', usersRoutes(services));
  app.route('/v1/auth/password', passwordRoutes(services));
  app.route('/v1/auth', tokenRoutes(services));
  app.route('/v1/auth', authorizeRoutes(services));
  app.route('/v1/auth/keys', keyAdminRoutes(services));

  const internal = new Hono<Env>();
  internal.use(
    '*',
    requireServiceToken(
      cacheVerifiedServiceTokens(services.tokens.verifyAccessToken, {
        keyPublished: keyPublishedIn(services.keys),
        isRevoked: (jti) => services.tokens.isRevoked(jti),
      }),
    ),
  );
  internal.route('/', internalUsersRoutes(services));
  internal.route('/otp', internalOtpRoutes(services));
  app.route('/internal', internal);

  if (services.devOutbox) app.route('/dev', devOutboxRoutes(services.devOutbox));
  return { app, services };
}
