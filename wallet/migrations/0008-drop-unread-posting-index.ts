import { sql, type Kysely } from 'kysely';

/**
 * Issue 9, item 4: `postings_wallet_created (wallet_id, created_at)` (0001) was read only by
 * `GET /internal/users/:id/volume`, which is gone; every posting still paid for its entry. The
 * daily limit reads `postings_wallet_debits` (0002), reconciliation walks postings by `seq`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists postings_wallet_created`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create index if not exists postings_wallet_created on postings (wallet_id, created_at)`.execute(
    db,
  );
}
