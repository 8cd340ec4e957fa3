import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, pgErrorCode } from '../../lib/db.js';
import { createLogger } from '../../lib/logger.js';
import { ensureRole } from '../../scripts/stack/infrastructure.js';
import { pgUrl } from '../../scripts/stack/profile.js';
import { createWalletApp } from '../app.js';
import type { Database } from '../database.js';
import { grantServiceRole } from '../database-roles.js';
import { createOutboxRelay } from '../outbox/outbox.relay.js';
import { createReconciliationService } from '../reconciliation/reconciliation.service.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';
import { createJournalSealer } from './journal-sealer.js';

/** What the schema itself refuses, whatever the service code does (issue 11, items 11 and 12). */
const log = createLogger('journal-integrity-test', 'silent');
let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness({ isolated: 'journal_integrity' });
});
afterAll(async () => {
  await h.close();
});

/** The error a statement fails with (it must fail). */
async function refusal(run: () => Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await run();
  } catch (err) {
    return { code: pgErrorCode(err), message: err instanceof Error ? err.message : String(err) };
  }
  throw new Error('the statement succeeded');
}

describe('currency in the schema (0042)', () => {
  let usd: string;
  let eur: string;
  let funding: string;
  beforeAll(async () => {
    usd = await h.wallet('USD', 1000n);
    eur = await h.wallet('EUR', 1000n);
    const row = await h.db
      .selectFrom('wallets')
      .select('id')
      .where('kind', '=', 'system')
      .where('currency', '=', 'USD')
      .executeTakeFirstOrThrow();
    funding = row.id;
  });

  it('refuses a posting in another currency than its wallet', async () => {
    // A USD journal transaction whose leg credits the EUR wallet.
    const err = await refusal(() =>
      sql`select velora_post_journal('deposit', 'USD', 'mixed', null, null, null, ${JSON.stringify([
        { wallet_id: funding, amount: '-5' },
        { wallet_id: eur, amount: '5' },
      ])}::jsonb)`.execute(h.db),
    );
    expect(err).toMatchObject({
      code: '23503',
      message: expect.stringContaining('postings_wallet_currency'),
    });
  });

  it('refuses a posting in another currency than its transaction', async () => {
    const err = await refusal(() =>
      h.db.transaction().execute(async (trx) => {
        const tx = randomUUID();
        await sql`insert into journal_transactions (id, kind, currency, created_at)
          values (${tx}, 'deposit', 'USD', now())`.execute(trx);
        await sql`insert into postings (id, transaction_id, position, wallet_id, currency, amount, balance_after, created_at)
          values (${randomUUID()}, ${tx}, 0, ${eur}, 'EUR', 5, 1005, now())`.execute(trx);
      }),
    );
    expect(err).toMatchObject({
      code: '23503',
      message: expect.stringContaining('postings_transaction_currency'),
    });
  });

  it('refuses, at commit, a journal transaction without postings', async () => {
    const tx = randomUUID();
    const err = await refusal(() =>
      h.db.transaction().execute(async (trx) => {
        await sql`insert into journal_transactions (id, kind, currency, created_at)
          values (${tx}, 'deposit', 'USD', now())`.execute(trx);
      }),
    );
    expect(err).toMatchObject({ code: '23514', message: `journal transaction ${tx} has no postings` });
    const left = await h.db.selectFrom('journal_transactions').select('id').where('id', '=', tx).execute();
    expect(left).toEqual([]);
  });

  it('still moves money in one currency', async () => {
    const res = await h.call('POST', `/internal/wallets/${usd}/deposits`, {
      body: { amount: '7', currency: 'USD', reference: 'one currency' },
      key: randomUUID(),
    });
    expect(res.status).toBe(201);
    expect((await h.balance(usd)).posted).toBe('1007');
  });
});

describe('the service role cannot rewrite the journal (0043)', () => {
  const role = 'velora_wallet_service';
  let service: Kysely<Database>;
  let app: ReturnType<typeof createWalletApp>['app'];
  let from: string;
  let to: string;
  beforeAll(async () => {
    await ensureRole(role);
    const database = new URL(h.env.WALLET_DATABASE_URL).pathname.slice(1);
    service = createDb<Database>(pgUrl(role, database), { max: 4, name: 'wallet-service-role-test' }).db;
    expect(await grantServiceRole(h.db, service, { log: log, production: true })).toEqual({
      role,
      separate: true,
    });
    ({ app } = createWalletApp({ db: service, mongo: h.mongo, verifier: h.issuer.verifier, log: log }));
    from = await h.wallet('USD', 500n);
    to = await h.wallet('USD');
    await h.sealer.sealAll();
  });
  afterAll(async () => {
    await service.destroy();
  });

  async function call(method: string, path: string, body?: unknown) {
    const res = await app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${h.token}`,
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it.each([
    ['journal_transactions', 'reference'],
    ['postings', 'amount'],
    ['journal_seals', 'hash'],
  ])('cannot UPDATE, DELETE or TRUNCATE %s, but reads it', async (table, column) => {
    const t = sql.table(table);
    for (const statement of [
      sql`update ${t} set ${sql.ref(column)} = ${sql.ref(column)}`,
      sql`delete from ${t}`,
      sql`truncate ${t} cascade`,
      // Nor switch off the append-only triggers or drop a key: only the owner alters a table.
      sql`alter table ${t} disable trigger user`,
    ]) {
      const err = await refusal(() => statement.execute(service));
      expect(err, `${table}: ${statement.compile(service).sql}`).toMatchObject({ code: '42501' });
    }
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${t}`.execute(service);
    expect(Number(rows[0]!.n)).toBeGreaterThan(0);
  });

  it('still moves money: a deposit, a transfer reserved and captured, a withdrawal, sealed into the chain', async () => {
    const deposit = await call('POST', `/internal/wallets/${from}/deposits`, {
      amount: '100',
      currency: 'USD',
      reference: 'service role',
    });
    expect(deposit.status).toBe(201);
    const transferId = randomUUID();
    const reserve = await call('POST', `/internal/transfers/${transferId}/reserve`, {
      user_id: (await h.call('GET', `/internal/wallets/${from}`)).body.user_id,
      from_wallet_id: from,
      to_wallet_id: to,
      amount: '250',
      currency: 'USD',
      limits: { per_transfer: '1000000', daily: '1000000' },
      hold_ttl_seconds: 900,
    });
    expect(reserve.status).toBe(201);
    const hold = reserve.body.hold as { id: string };
    const capture = await call('POST', `/internal/holds/${hold.id}/capture`, {
      to_wallet_id: to,
      amount: '250',
    });
    expect(capture.status).toBe(200);
    const withdrawal = await call('POST', `/internal/wallets/${to}/withdrawals`, {
      amount: '50',
      currency: 'USD',
      reference: 'service role',
    });
    expect(withdrawal.status).toBe(201);
    expect((await h.balance(from)).posted).toBe('350');
    expect((await h.balance(to)).posted).toBe('200');

    // The sealer and the relay run as the service role too.
    expect(await createJournalSealer({ db: service, log }).sealAll()).toBeGreaterThanOrEqual(3);
    await createOutboxRelay({ db: service, mongo: h.mongo, log }).drainAll();
    const report = await createReconciliationService({ db: service, mongo: h.mongo }).run({
      storeCheckpoint: true,
    });
    expect(report).toMatchObject({ ok: true, discrepancies: [] });
    expect(report.checkpoint).not.toBeNull();
  });

  it('the owner cannot TRUNCATE the journal either without dropping its guard first', async () => {
    for (const table of ['postings', 'journal_seals']) {
      const err = await refusal(() => sql`truncate ${sql.table(table)}`.execute(h.db));
      expect(err).toMatchObject({ code: 'P0001', message: `table ${table} is append-only` });
    }
  });

  it('refuses to grant the owner its own rights away: the service must log in as another role', async () => {
    await expect(grantServiceRole(h.db, h.db, { log: log, production: true })).rejects.toThrow(
      /serves as the owner/,
    );
    expect(await grantServiceRole(h.db, h.db, { log: log, production: false })).toMatchObject({
      separate: false,
    });
  });
});
