import type { Generated, Selectable } from 'kysely';

/**
 * `refresh_tokens`: one row per issued refresh token, identified by the SHA-256 of the opaque
 * value. Tokens of one login share a `family_id` and its absolute `expires_at`; each use
 * marks the row used and issues a successor, so a second use of any row is reuse.
 */
export interface RefreshTokensTable {
  id: Generated<string>;
  family_id: string;
  token_hash: string;
  user_id: string;
  client_id: string;
  scope: string;
  created_at: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  revoked_reason: string | null;
}

export type RefreshTokenRow = Selectable<RefreshTokensTable>;
