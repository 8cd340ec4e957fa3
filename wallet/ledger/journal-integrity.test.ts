import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgErrorCode } from '../../lib/db.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

/** What the schema itself refuses, whatever the service code does (issue 11, item 12). */
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
