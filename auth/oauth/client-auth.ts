import type { Kysely } from 'kysely';
import type { Database } from '../database.js';
import { dummyPasswordHash, verifyPassword } from '../users/password-hasher.js';
import { findClient } from './clients.repository.js';
import type { OAuthClient } from './clients.table.js';
import { OAuthError } from './oauth.errors.js';

export type ClientAuthResult =
  | { client: OAuthClient; authenticated: boolean }
  | { error: OAuthError.InvalidClient | OAuthError.InvalidRequest; description: string; basic: boolean };

/**
 * Identifies the calling client (RFC 6749 §2.3): HTTP Basic or `client_secret_post` for
 * confidential clients, a bare `client_id` for public ones. A confidential client that does not
 * prove its secret is refused; an unknown client costs the same Argon2 work as a known one.
 */
export async function authenticateClient(
  db: Kysely<Database>,
  authorization: string | undefined,
  form: Record<string, string>,
  options: { defaultPublicClientId?: string } = {},
): Promise<ClientAuthResult> {
  let clientId: string | undefined;
  let secret: string | undefined;
  const basic = authorization?.toLowerCase().startsWith('basic ') ?? false;
  if (basic && authorization) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      return { error: OAuthError.InvalidClient, description: 'malformed Basic credentials', basic };
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    } catch {
      return { error: OAuthError.InvalidClient, description: 'malformed Basic credentials', basic };
    }
    if (form.client_secret !== undefined) {
      return {
        error: OAuthError.InvalidRequest,
        description: 'use one client authentication method only',
        basic,
      };
    }
    if (form.client_id !== undefined && form.client_id !== clientId) {
      return {
        error: OAuthError.InvalidRequest,
        description: 'client_id does not match the credentials',
        basic,
      };
    }
  } else {
    clientId = form.client_id ?? options.defaultPublicClientId;
    secret = form.client_secret;
  }
  if (!clientId)
    return { error: OAuthError.InvalidClient, description: 'client authentication is required', basic };

  const client = await findClient(db, clientId);
  if (secret !== undefined) {
    const ok = await verifyPassword(client?.secret_hash ?? (await dummyPasswordHash()), secret);
    if (!client || !client.secret_hash || !ok) {
      return { error: OAuthError.InvalidClient, description: 'client authentication failed', basic };
    }
    return { client, authenticated: true };
  }
  if (!client || client.secret_hash !== null) {
    return { error: OAuthError.InvalidClient, description: 'client authentication failed', basic };
  }
  return { client, authenticated: false };
}
