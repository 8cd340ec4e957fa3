import { sql, type Kysely } from 'kysely';
import type { Logger } from '../lib/logger.js';

/** The role a connection logs in as. */
export async function currentRole<DB>(db: Kysely<DB>): Promise<string> {
  const { rows } = await sql<{ role: string }>`select current_user as role`.execute(db);
  return rows[0]!.role;
}

/**
 * Gives the service role what migration 0043 says it may do (INSERT and SELECT on the journal,
 * no UPDATE, DELETE or TRUNCATE of it), run by the owner after the migrations at every start, so
 * tables added since are covered too. A service that logs in as the owner itself could rewrite
 * its history: production refuses to start that way, elsewhere it is logged.
 */
export async function grantServiceRole<DB>(
  owner: Kysely<DB>,
  service: Kysely<DB>,
  options: { log: Logger; production: boolean },
): Promise<{ role: string; separate: boolean }> {
  const [ownerRole, role] = await Promise.all([currentRole(owner), currentRole(service)]);
  if (ownerRole === role) {
    const message =
      'WalletService serves as the owner of its tables, which may rewrite the journal: set WALLET_DATABASE_URL to the service role and WALLET_MIGRATION_DATABASE_URL to the owner (docs/operations.md)';
    if (options.production) throw new Error(message);
    options.log.warn({ role }, message);
    return { role, separate: false };
  }
  await sql`select velora_grant_service(${role})`.execute(owner);
  return { role, separate: true };
}
