import { sql, type Kysely } from 'kysely';

/**
 * A rotated-in key is first published as `next` and signs only from `activate_after` on, so
 * verifiers that cached the JWKS shortly before the rotation have refetched it by then.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table signing_keys drop constraint signing_keys_status_check`.execute(db);
  await sql`alter table signing_keys add constraint signing_keys_status_check check (status in ('next', 'active', 'retired'))`.execute(
    db,
  );
  await db.schema.alterTable('signing_keys').addColumn('activate_after', 'timestamptz').execute();
  await sql`create unique index signing_keys_one_next on signing_keys ((true)) where status = 'next'`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from signing_keys where status = 'next'`.execute(db);
  await sql`drop index if exists signing_keys_one_next`.execute(db);
  await db.schema.alterTable('signing_keys').dropColumn('activate_after').execute();
  await sql`alter table signing_keys drop constraint signing_keys_status_check`.execute(db);
  await sql`alter table signing_keys add constraint signing_keys_status_check check (status in ('active', 'retired'))`.execute(
    db,
  );
}
