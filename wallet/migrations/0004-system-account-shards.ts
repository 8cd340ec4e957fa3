import { sql, type Kysely } from 'kysely';

/**
 * Issue 9, item 4: every deposit locked the one `funding` row of its currency (every withdrawal
 * the one `settlement` row), so deposits to different wallets queued behind each other. A system
 * account now has shards (`shard` 0…N-1, N in wallets.table.ts); a movement uses the shard chosen
 * by its user wallet's id. The books sum all shards; nothing else changes (a shard is a wallet row
 * like any other, and the existing accounts become shard 0).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table wallets add column shard smallint not null default 0
    constraint wallets_shard check (shard >= 0 and (kind = 'system' or shard = 0))`.execute(db);
  await sql`drop index wallets_system_currency`.execute(db);
  await sql`create unique index wallets_system_currency on wallets (system_name, currency, shard) where kind = 'system'`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index wallets_system_currency`.execute(db);
  await sql`alter table wallets drop column shard`.execute(db);
  await sql`create unique index wallets_system_currency on wallets (system_name, currency) where kind = 'system'`.execute(
    db,
  );
}
