import type { Kysely } from 'kysely';
import type { AuditLog, RequestContext } from '../audit/audit.service.js';
import type { Database } from '../database.js';
import type { RedisClient } from '../redis.js';
import { createClientAuthThrottle } from './client-auth-throttle.js';
import { authenticateClient } from './client-auth.js';
import { findClient } from './clients.repository.js';
import type { OAuthClient } from './clients.table.js';
import { OAuthError } from './oauth.errors.js';

/** A refused client authentication, ready to be rendered as an OAuth error. */
export interface ClientAuthFailure {
  error: OAuthError;
  description: string;
  headers: Record<string, string>;
}

/** The registered OAuth clients, and who is calling the token, revocation and introspection endpoints. */
export interface ClientService {
  find(clientId: string): Promise<OAuthClient | undefined>;
  /**
   * Identifies the calling client (client-auth.ts) under the per-address failure throttle
   * (client-auth-throttle.ts): a blocked address is refused before any secret is checked, and
   * every failure is counted and audited.
   */
  authenticate(request: {
    /** The request's Authorization header. */
    authorization: string | undefined;
    form: Record<string, string>;
    /** The client a request without any client authentication belongs to (a public client). */
    defaultPublicClientId?: string;
    context: RequestContext;
  }): Promise<{ client: OAuthClient; authenticated: boolean } | ClientAuthFailure>;
}

export function createClientService(deps: {
  db: Kysely<Database>;
  redis: RedisClient;
  audit: AuditLog;
}): ClientService {
  const throttle = createClientAuthThrottle(deps.redis);
  return {
    find: (clientId) => findClient(deps.db, clientId),

    async authenticate({ authorization, form, defaultPublicClientId, context }) {
      const ip = context.ip ?? 'unknown';
      const wait = await throttle.blockedFor(ip);
      if (wait !== undefined) {
        return {
          error: OAuthError.TooManyRequests,
          description: 'too many failed client authentications',
          headers: { 'retry-after': String(wait) },
        };
      }
      const result = await authenticateClient(
        deps.db,
        authorization,
        form,
        defaultPublicClientId ? { defaultPublicClientId } : {},
      );
      if (!('error' in result)) return result;
      await throttle.recordFailure(ip);
      await deps.audit({
        event: 'client_auth',
        outcome: 'failure',
        clientId: form.client_id ?? null,
        context,
        details: { reason: result.error },
      });
      const headers: Record<string, string> = result.basic
        ? { 'www-authenticate': 'Basic realm="velora"' }
        : {};
      return { error: result.error, description: result.description, headers };
    },
  };
}
