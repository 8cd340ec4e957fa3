import type { Insertable, Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { OAuthClient, OAuthClientsTable } from './clients.table.js';

/** Longer than any client id we register: nothing longer is looked up. */
const CLIENT_ID_MAX_LENGTH = 200;

export async function findClient(db: Kysely<Database>, clientId: string): Promise<OAuthClient | undefined> {
  if (clientId.length === 0 || clientId.length > CLIENT_ID_MAX_LENGTH) return undefined;
  return db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
}

/** Creates or updates a client (seeding from the environment at start). */
export async function upsertClient(db: Kysely<Database>, row: Insertable<OAuthClientsTable>): Promise<void> {
  await db
    .insertInto('oauth_clients')
    .values(row)
    .onConflict((oc) =>
      oc.column('client_id').doUpdateSet({
        name: row.name,
        secret_hash: row.secret_hash ?? null,
        grant_types: row.grant_types,
        scopes: row.scopes,
        redirect_uris: row.redirect_uris ?? [],
        updated_at: new Date(),
      }),
    )
    .execute();
}
