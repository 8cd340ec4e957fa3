import { sql, type Kysely } from 'kysely';

/**
 * Issue 11, item 11: the hash covers every column that states money. Seals written from now on
 * are version 2 (a posting's currency, balance after and time join its position, id, wallet and
 * amount: wallet/ledger/journal-hash.ts); every seal written before stays version 1 and keeps
 * verifying as such. The version is part of what is hashed, so changing a seal's version breaks
 * its hash like any other edit. Adding a column with a constant default rewrites nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table journal_seals add column hash_version smallint not null default 1
    constraint journal_seals_hash_version check (hash_version in (1, 2))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table journal_seals drop column hash_version`.execute(db);
}
