import type { AuthEventsTable } from './audit/audit.table.js';
import type { SigningKeysTable } from './keys/keys.table.js';
import type { OAuthClientsTable } from './oauth/clients.table.js';
import type { RefreshTokensTable } from './tokens/refresh-tokens.table.js';
import type { UsersTable } from './users/users.table.js';

/** Every table of the `velora_auth` database. */
export interface Database {
  users: UsersTable;
  oauth_clients: OAuthClientsTable;
  signing_keys: SigningKeysTable;
  refresh_tokens: RefreshTokensTable;
  auth_events: AuthEventsTable;
}
