import type { Migration } from 'kysely';
import * as initial from './0001-initial.js';
import * as nextSigningKey from './0002-next-signing-key.js';

/** AuthService's migrations in order; passed to `migrateToLatest`. */
export const authMigrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-next-signing-key': nextSigningKey,
};
