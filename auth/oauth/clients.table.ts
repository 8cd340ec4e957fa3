import type { Generated, Selectable } from 'kysely';

/** `oauth_clients`: registered OAuth 2.1 clients. Confidential clients keep only an Argon2id hash of their secret. */
export interface OAuthClientsTable {
  client_id: string;
  name: string;
  /** Null for public clients (authorization_code + PKCE only, no secret). */
  secret_hash: string | null;
  grant_types: string[];
  scopes: string[];
  redirect_uris: string[];
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type OAuthClient = Selectable<OAuthClientsTable>;
