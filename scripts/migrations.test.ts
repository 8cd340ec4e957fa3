import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { authMigrations } from '../auth/migrations/index.js';
import { createDb, migrateToLatest } from '../lib/db.js';
import { walletMigrations } from '../wallet/migrations/migrations.js';
import { captureHold } from '../wallet/transfers/transfers.repository.js';
import type { Database as WalletDatabase } from '../wallet/database.js';
import { ensureDatabase } from './stack/infrastructure.js';
import { pgUrl } from './stack/profile.js';

/**
 * Every migration of AuthService and WalletService, applied one at a time (through the same
 * `migrateToLatest` the services run at start) to a scratch database that holds data written
 * with the schema of the step before: rows that the migration must carry, move or backfill.
 * After each step no table lost a row, no wallet balance changed and the books still close;
 * at the end the current code works on the rows the oldest schema wrote. See docs/migrations.md.
 */

type Db = Kysely<unknown>;

/** What a migration must not change: row counts (may grow) and every wallet's balances. */
interface Snapshot {
  rows: Map<string, number>;
  balances: Map<string, string>;
}

async function snapshot(db: Db): Promise<Snapshot> {
  const { rows: tables } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(db);
  const rows = new Map<string, number>();
  for (const { name } of tables) {
    const { rows: count } = await sql<{
      n: number;
    }>`select count(*)::int as n from ${sql.table(name)}`.execute(db);
    rows.set(name, count[0]!.n);
  }
  const balances = new Map<string, string>();
  if (rows.has('wallets')) {
    const { rows: wallets } = await sql<{ id: string; posted: bigint; pending: bigint }>`
      select id, posted, pending from wallets`.execute(db);
    for (const w of wallets) balances.set(w.id, `${w.posted}/${w.pending}`);
  }
  return { rows, balances };
}

/** Checks that `after` kept what `before` had, naming the migration in every failure. */
async function expectKept(db: Db, migration: string, before: Snapshot) {
  const after = await snapshot(db);
  for (const [table, n] of before.rows) {
    const kept = after.rows.get(table);
    // A table a migration drops on purpose (0002 folds chain_head into journal_seals) is gone.
    if (kept !== undefined) expect(kept, `${migration}: rows of ${table}`).toBeGreaterThanOrEqual(n);
  }
  expect(after.balances, `${migration}: wallet balances`).toEqual(before.balances);
  if (after.rows.has('postings')) {
    const { rows } = await sql<{ currency: string; total: string }>`
      select currency, sum(posted)::text as total from wallets group by currency`.execute(db);
    for (const r of rows) expect(r.total, `${migration}: books of ${r.currency}`).toBe('0');
  }
}

interface ScratchDatabase {
  db: Db;
  close(): Promise<void>;
}

const scratch: ScratchDatabase[] = [];

/** A fresh database owned by the service's role, with a unique name; dropped after the file. */
async function scratchDatabase(role: string): Promise<ScratchDatabase> {
  const name = `velora_migtest_${randomBytes(6).toString('hex')}`;
  await ensureDatabase(role, name);
  const { db, pool } = createDb<unknown>(pgUrl(role, name), { max: 2, name: 'migrations-test' });
  const handle = {
    db,
    async close() {
      await pool.end();
      // The owner may drop its own database; the service role reaches the maintenance database.
      const admin = new pg.Client({ connectionString: pgUrl(role, 'postgres') });
      await admin.connect();
      try {
        await admin.query(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
  scratch.push(handle);
  return handle;
}

afterAll(async () => {
  for (const s of scratch) await s.close();
});

/**
 * Applies `migrations` one at a time. Before each one, `seed[previous]` writes rows with the
 * schema the previous migration left; after it, `check[name]` asserts what it had to produce.
 */
async function migrateStepByStep(
  db: Db,
  migrations: Record<string, Migration>,
  seed: Record<string, (db: Db) => Promise<void>>,
  check: Record<string, (db: Db) => Promise<void>> = {},
) {
  const names = Object.keys(migrations);
  for (const [i, name] of names.entries()) {
    const previous = names[i - 1];
    if (previous && seed[previous]) await seed[previous](db);
    const before = await snapshot(db);
    const prefix = Object.fromEntries(names.slice(0, i + 1).map((n) => [n, migrations[n]!]));
    const applied = await migrateToLatest(db, prefix);
    expect(
      applied.map((r) => `${r.migrationName}:${r.status}`),
      name,
    ).toEqual([`${name}:Success`]);
    await expectKept(db, name, before);
    await check[name]?.(db);
  }
  for (const name of Object.keys(seed)) expect(names, `seed for unknown migration ${name}`).toContain(name);
}

describe('migrations on a copy of the previous schema with data in it', () => {
  it('WalletService: every migration keeps the journal, balances, holds and keys it finds', async () => {
    const { db } = await scratchDatabase('velora_wallet');
    const funding = randomUUID();
    const alice = randomUUID();
    const bob = randomUUID();
    const aliceUser = randomUUID();
    const firstDeposit = randomUUID();

    await migrateStepByStep(
      db,
      walletMigrations,
      {
        // The first ledger: a hash-chained deposit, a free-form hold, an idempotency record and
        // an outbox row, written as the service of that time wrote them.
        '0001-ledger': (db) =>
          db.transaction().execute(async (tx) => {
            await sql`insert into wallets (id, kind, system_name, currency) values (${funding}, 'system', 'funding', 'USD')`.execute(
              tx,
            );
            await sql`insert into wallets (id, kind, user_id, currency) values
              (${alice}, 'user', ${aliceUser}, 'USD'), (${bob}, 'user', ${randomUUID()}, 'USD')`.execute(tx);
            await sql`insert into journal_transactions (id, seq, kind, currency, reference, created_at, prev_hash, hash)
              values (${firstDeposit}, 1, 'deposit', 'USD', 'bank-0001', now(), ${'0'.repeat(64)}, ${'a'.repeat(64)})`.execute(
              tx,
            );
            await sql`insert into postings (id, transaction_id, position, wallet_id, currency, amount, balance_after, created_at) values
              (${randomUUID()}, ${firstDeposit}, 0, ${funding}, 'USD', -100000, -100000, now()),
              (${randomUUID()}, ${firstDeposit}, 1, ${alice}, 'USD', 100000, 100000, now())`.execute(tx);
            await sql`update wallets set posted = case when id = ${funding}::uuid then -100000 else 100000 end
              where id in (${funding}, ${alice})`.execute(tx);
            await sql`update chain_head set seq = 1, last_hash = ${'a'.repeat(64)}`.execute(tx);
            await sql`insert into holds (id, wallet_id, currency, amount, status, transfer_id, expires_at)
              values (${randomUUID()}, ${alice}, 'USD', 5000, 'active', 'legacy-hold', now() + interval '1 day')`.execute(
              tx,
            );
            await sql`update wallets set pending = 5000 where id = ${alice}`.execute(tx);
            await sql`insert into idempotency_keys (scope, key, fingerprint, status_code, response)
              values ('client:velora-orchestrator', 'deposit-0001', 'fp', 201, '{"ok":true}')`.execute(tx);
            await sql`insert into outbox (event_id, collection, document)
              values (${firstDeposit}, 'journal_entries', '{"amount":"100000"}')`.execute(tx);
          }),
        // The transfer functions of 0002: an unsealed deposit and a reserved transfer.
        '0002-sealed-journal-and-transfer-functions': async (db) => {
          await sql`select velora_post_journal('deposit', 'USD', 'bank-0002', null, null, null,
            ${JSON.stringify([
              { wallet_id: funding, amount: '-3000' },
              { wallet_id: alice, amount: '3000' },
            ])}::jsonb)`.execute(db);
          const { rows } = await sql<{ status_code: number }>`
            select status_code from velora_reserve_transfer('client:velora-orchestrator', 'reserve-0002', 'fp',
              'transfer-0002', ${aliceUser}::uuid, ${alice}::uuid, ${bob}::uuid, 2500, 'USD', 500000, 2000000, 900)`.execute(
            db,
          );
          expect(rows[0]!.status_code).toBeLessThan(300);
        },
        // A transfer reserved and captured by the 0007 functions: 0010 counts it for the daily limit.
        '0009-checked-types-for-fixed-columns': async (db) => {
          const { rows } = await sql<{ response: { hold: { id: string } } }>`
            select response from velora_reserve_transfer('client:velora-orchestrator', 'reserve-0009', 'fp',
              'transfer-0009', ${aliceUser}::uuid, ${alice}::uuid, ${bob}::uuid, 1000, 'USD', 500000, 2000000, 900)`.execute(
            db,
          );
          const { rows: captured } = await sql<{ status_code: number }>`
            select status_code from velora_capture_hold('client:velora-orchestrator', 'capture-0009', 'fp',
              ${rows[0]!.response.hold.id}::uuid, ${bob}::uuid, null, null)`.execute(db);
          expect(captured[0]!.status_code).toBe(200);
        },
      },
      {
        '0002-sealed-journal-and-transfer-functions': async (db) => {
          const { rows } = await sql<{ seq: bigint; hash: string }>`
            select seq, hash from journal_seals where transaction_id = ${firstDeposit}`.execute(db);
          expect(rows).toEqual([{ seq: 1n, hash: 'a'.repeat(64) }]);
        },
        '0003-deposit-references': async (db) => {
          const { rows } = await sql<{ reference: string }>`
            select reference from deposit_references where wallet_id = ${alice} order by reference`.execute(
            db,
          );
          expect(rows.map((r) => r.reference)).toEqual(['bank-0001', 'bank-0002']);
        },
        '0005-transfer-claims': async (db) => {
          const { rows } = await sql<{ state: string }>`
            select state from transfer_claims where transfer_id = 'transfer-0002'`.execute(db);
          expect(rows).toEqual([{ state: 'reserved' }]);
        },
        '0010-daily-limit-counter-and-transfer-bundles': async (db) => {
          const { rows } = await sql<{ amount: bigint }>`
            select amount from daily_limit_debits where wallet_id = ${alice}`.execute(db);
          expect(rows).toEqual([{ amount: 1000n }]);
        },
        // The daily limit's debit index is gone; the counter it was replaced by is kept.
        '0032-one-daily-limit-counter-write': async (db) => {
          const { rows } = await sql<{ n: number }>`
            select count(*)::int as n from pg_indexes where indexname = 'postings_wallet_debits'`.execute(db);
          expect(rows).toEqual([{ n: 0 }]);
          const { rows: counter } = await sql<{ amount: bigint }>`
            select amount from daily_limit_debits where wallet_id = ${alice}`.execute(db);
          expect(counter).toEqual([{ amount: 1000n }]);
        },
        // The epoch hour can be inlined, and an outbox row up to 8 kB is stored uncompressed.
        '0033-ledger-cheaper-per-pair': async (db) => {
          const { rows } = await sql<{ volatility: string; options: string[] | null }>`
            select (select provolatile from pg_proc where proname = 'velora_epoch_hour') as volatility,
              (select reloptions from pg_class where relname = 'outbox') as options`.execute(db);
          expect(rows).toEqual([{ volatility: 's', options: ['toast_tuple_target=8160'] }]);
        },
        // Nothing archived yet: the sweep's first window starts at the epoch.
        '0036-transfer-records': async (db) => {
          const { rows } = await sql<{ closed_through: Date; window_until: Date | null }>`
            select closed_through, window_until from transfer_archive_checkpoint`.execute(db);
          expect(rows).toEqual([{ closed_through: new Date(0), window_until: null }]);
        },
        // Rows queued before events existed count as published: events start after the upgrade.
        '0038-domain-event-publishing': async (db) => {
          const { rows } = await sql<{ n: number }>`
            select count(*)::int as n from outbox where published_at is null`.execute(db);
          expect(rows).toEqual([{ n: 0 }]);
        },
        // A new user wallet and a new hold queue their events for the publisher.
        '0039-hold-and-wallet-events': async (db) => {
          const wallet = randomUUID();
          const hold = randomUUID();
          await sql`insert into wallets (id, kind, user_id, currency) values (${wallet}, 'user', ${randomUUID()}, 'USD')`.execute(
            db,
          );
          await sql`insert into holds (id, wallet_id, currency, amount, status, transfer_id, expires_at)
            values (${hold}, ${wallet}, 'USD', 10, 'active', 'events-0039', now() + interval '1 hour')`.execute(
            db,
          );
          const { rows } = await sql<{ source_id: string; type: string }>`
            select source_id, document->>'type' as type from event_queue order by id`.execute(db);
          expect(rows).toEqual([
            { source_id: `wallet.created:${wallet}`, type: 'wallet.created' },
            { source_id: `hold.created:${hold}`, type: 'hold.created' },
          ]);
        },
        // Postings are tied to their wallet's and their transaction's currency, and every
        // journal transaction written before has postings (the keys were validated on them).
        '0042-currency-in-the-schema': async (db) => {
          const err = await db
            .transaction()
            .execute(async (tx) => {
              const id = randomUUID();
              await sql`insert into journal_transactions (id, kind, currency, created_at)
                values (${id}, 'deposit', 'EUR', now())`.execute(tx);
              await sql`insert into postings (id, transaction_id, position, wallet_id, currency, amount, balance_after, created_at)
                values (${randomUUID()}, ${id}, 0, ${alice}, 'EUR', 1, 1, now())`.execute(tx);
            })
            .catch((e: unknown) => e);
          expect(String(err)).toContain('postings_wallet_currency');
        },
        '0043-service-role-cannot-rewrite-the-journal': async (db) => {
          await expect(sql`truncate postings`.execute(db)).rejects.toThrow('table postings is append-only');
        },
        // Every seal written before keeps verifying as version 1.
        '0044-journal-hash-version': async (db) => {
          const { rows } = await sql<{ hash_version: number; n: number }>`
            select hash_version, count(*)::int as n from journal_seals group by 1`.execute(db);
          expect(rows).toEqual([{ hash_version: 1, n: 1 }]);
        },
        // Outbox documents past 2 kB go out of line, uncompressed; the rows written before stay.
        '0045-outbox-documents-out-of-line': async (db) => {
          const { rows } = await sql<{ storage: string; options: string[] | null; n: number }>`
            select (select attstorage from pg_attribute where attrelid = 'outbox'::regclass and attname = 'document') as storage,
              (select reloptions from pg_class where relname = 'outbox') as options,
              (select count(*)::int from outbox) as n`.execute(db);
          expect(rows).toEqual([{ storage: 'e', options: null, n: rows[0]!.n }]);
          expect(rows[0]!.n).toBeGreaterThan(0);
        },
      },
    );

    // Today's code captures the transfer the 0002 functions reserved.
    const wallet = db as unknown as Kysely<WalletDatabase>;
    const { rows: holds } = await sql<{ id: string }>`
      select id from holds where transfer_id = 'transfer-0002'`.execute(wallet);
    const captured = await captureHold(
      wallet,
      { scope: 'client:velora-orchestrator', key: 'capture-after-migrations', fingerprint: 'fp' },
      { holdId: holds[0]!.id, toWalletId: bob, events: [] },
    );
    expect(captured.status_code).toBeLessThan(300);
    const { rows: balances } = await sql<{ id: string; posted: bigint; pending: bigint }>`
      select id, posted, pending from wallets where id in (${alice}, ${bob})`.execute(wallet);
    expect(Object.fromEntries(balances.map((w) => [w.id, [w.posted, w.pending]]))).toEqual({
      [alice]: [99500n, 5000n],
      [bob]: [3500n, 0n],
    });
    // ... and counts it for the daily limit (velora_count_daily_debit, 0032).
    const { rows: counted } = await sql<{ amount: bigint }>`
      select sum(amount)::bigint as amount from daily_limit_debits where wallet_id = ${alice}`.execute(
      wallet,
    );
    expect(counted).toEqual([{ amount: 3500n }]);
  });

  it('AuthService: every migration keeps users, clients, signing keys, sessions and the audit trail', async () => {
    const { db } = await scratchDatabase('velora_auth');
    await migrateStepByStep(
      db,
      authMigrations,
      {
        '0001-initial': async (db) => {
          const { rows } = await sql<{ id: string }>`
            insert into users (email, password_hash, status, roles)
            values ('early-adopter@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', 'active', '{user,admin}')
            returning id`.execute(db);
          await sql`insert into oauth_clients (client_id, name, secret_hash, grant_types, scopes)
            values ('legacy-client', 'Legacy', 'hash', '{client_credentials}', '{wallet:read}')`.execute(db);
          await sql`insert into signing_keys (kid, alg, public_jwk, private_key_encrypted, status) values
            ('kid-active', 'ES256', '{"kty":"EC"}', 'encrypted', 'active'),
            ('kid-old', 'ES256', '{"kty":"EC"}', 'encrypted', 'retired')`.execute(db);
          await sql`insert into refresh_tokens (family_id, token_hash, user_id, client_id, scope, expires_at)
            values (${randomUUID()}, 'token-hash', ${rows[0]!.id}, 'velora-app', 'wallet:read', now() + interval '1 day')`.execute(
            db,
          );
          await sql`insert into auth_events (event, outcome, subject) values ('login', 'success', ${rows[0]!.id})`.execute(
            db,
          );
        },
      },
      {
        '0002-next-signing-key': async (db) => {
          const { rows } = await sql<{ kid: string; status: string }>`
            select kid, status from signing_keys order by kid`.execute(db);
          expect(rows).toEqual([
            { kid: 'kid-active', status: 'active' },
            { kid: 'kid-old', status: 'retired' },
          ]);
          // The state 0002 introduced is usable next to the old keys.
          await sql`insert into signing_keys (kid, alg, public_jwk, private_key_encrypted, status, activate_after)
            values ('kid-next', 'ES256', '{"kty":"EC"}', 'encrypted', 'next', now())`.execute(db);
        },
      },
    );
  });
});
