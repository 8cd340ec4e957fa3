import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../database.js';

/**
 * Runs a statement with the table's append-only triggers off, as the tables' owner
 * could (the service role cannot: migration 0043; reconciliation tests damage the books on
 * purpose, in their own database).
 */
export async function tamper(
  db: Kysely<Database>,
  table: string,
  statement: RawBuilder<unknown>,
): Promise<void> {
  await db.connection().execute(async (conn) => {
    await sql`alter table ${sql.table(table)} disable trigger user`.execute(conn);
    try {
      await statement.execute(conn);
    } finally {
      await sql`alter table ${sql.table(table)} enable trigger user`.execute(conn);
    }
  });
}
