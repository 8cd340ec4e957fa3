import type { Insertable, Kysely } from 'kysely';
import type { Database } from '../database.js';
import type { AuthEventRow, AuthEventsTable } from './audit.table.js';

export async function insertAuthEvent(db: Kysely<Database>, row: Insertable<AuthEventsTable>): Promise<void> {
  await db.insertInto('auth_events').values(row).execute();
}

/** Newest first; for operators and tests. */
export async function listAuthEvents(
  db: Kysely<Database>,
  filter: { subject?: string; event?: string; limit?: number },
): Promise<AuthEventRow[]> {
  let q = db.selectFrom('auth_events').selectAll();
  if (filter.subject) q = q.where('subject', '=', filter.subject);
  if (filter.event) q = q.where('event', '=', filter.event as AuthEventRow['event']);
  return q
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute();
}
