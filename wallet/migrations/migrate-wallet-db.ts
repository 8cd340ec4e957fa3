import { sql, type Kysely } from 'kysely';
import { migrateToLatest } from '../../lib/db.js';
import type { Database } from '../database.js';
import { walletMigrations } from './migrations.js';

const LOCK_KEY = 0x7e1_0ba1; // any constant unique to this database

/**
 * Applies pending migrations under a session advisory lock, so several service copies (or test
 * files) starting at once do not race on creating Kysely's own bookkeeping tables.
 */
export async function migrateWalletDb(db: Kysely<Database>): Promise<void> {
  await db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${LOCK_KEY})`.execute(conn);
    try {
      await migrateToLatest(conn, walletMigrations);
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_KEY})`.execute(conn);
    }
  });
}
