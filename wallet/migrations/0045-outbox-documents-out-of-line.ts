import { sql, type Kysely } from 'kysely';

/**
 * Issue 9: an outbox row is written once and then updated four times (the relay's claim and
 * mark, the event publisher's claim and mark, migration 0038), and an UPDATE writes the whole
 * new row version to the WAL. 0033 kept rows up to 8 kB inline and uncompressed (to spare the
 * capture pglz), so each of those updates copied the capture's ~2.5 kB bundle: about 10 kB of
 * WAL per transfer after its commit, more than the capture itself writes.
 *
 * `document` is now stored out of line and uncompressed (`storage external`) once a row passes
 * the default 2 kB target: the capture still runs no pglz, the bundle goes to the TOAST table
 * once, and the four updates copy an 18-byte pointer instead of the document. Rows already
 * written keep their layout until next updated. Nothing that reads or writes the outbox changes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table outbox alter column document set storage external`.execute(db);
  await sql`alter table outbox reset (toast_tuple_target)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table outbox set (toast_tuple_target = 8160)`.execute(db);
  await sql`alter table outbox alter column document set storage extended`.execute(db);
}
