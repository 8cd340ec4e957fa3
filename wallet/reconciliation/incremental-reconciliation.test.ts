import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';
import { createReconciliationService, type ReconciliationRunOptions } from './reconciliation.service.js';
import { tamper } from './testing/tamper.js';

/** A private PostgreSQL and MongoDB database: this file damages the books on purpose. */
let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness({ isolated: 'reconciliation_incremental' });
});
afterAll(async () => {
  await h.close();
});

function run(options: ReconciliationRunOptions = {}) {
  return createReconciliationService({ db: h.db, mongo: h.mongo }).run({
    mode: 'incremental',
    storeCheckpoint: true,
    ...options,
  });
}

async function latestCheckpoint() {
  const { rows } = await sql<{ id: string; seal_seq: string; previous_id: string | null }>`
    select c.id::text, c.seal_seq::text, c.previous_id::text
    from reconciliation_checkpoints c order by c.id desc limit 1`.execute(h.db);
  return rows[0];
}

async function head(): Promise<string> {
  const { rows } = await sql<{
    seq: string;
  }>`select coalesce(max(seq), 0)::text as seq from journal_seals`.execute(h.db);
  return rows[0]!.seq;
}

async function deposit(wallet: string, amount: string): Promise<string> {
  const res = await h.call('POST', `/internal/wallets/${wallet}/deposits`, {
    body: { amount, currency: 'USD', reference: randomUUID() },
    key: randomUUID(),
  });
  expect(res.status).toBe(201);
  return String(res.body.transaction_id);
}

/** A reserve + capture of `amount` from `from` to `to`, as a transfer moves money. */
async function transfer(from: string, to: string, amount: string): Promise<string> {
  const hold = await h.hold(from, amount, { to });
  const capture = await h.call('POST', `/internal/holds/${hold.body.id}/capture`, {
    body: { to_wallet_id: to },
    key: randomUUID(),
  });
  expect(capture.status).toBe(200);
  return String(capture.body.transaction_id);
}

/** Seals and relays everything committed, as the running service does within a second. */
async function settle() {
  await h.sealer.sealAll();
  await h.relay.drainAll();
}

describe('incremental reconciliation', () => {
  let a: string;
  let b: string;
  let idle: string[];
  beforeAll(async () => {
    a = await h.wallet('USD', 10_000n);
    b = await h.wallet('USD');
    idle = await Promise.all([h.wallet('USD', 500n), h.wallet('USD', 700n), h.wallet('USD')]);
    await transfer(a, b, '1000');
    await settle();
  });

  it('without a checkpoint runs in full, then verifies only what changed and stores the next checkpoint', async () => {
    const first = await run();
    expect(first).toMatchObject({ ok: true, mode: 'full', range: { from_seq: '0', complete: true } });
    expect(first.checkpoint).toEqual({ id: expect.any(String), seal_seq: await head() });
    expect(first.checked.wallets).toBeGreaterThanOrEqual(5);

    const since = await head();
    await deposit(b, '30');
    await transfer(a, b, '250');
    await settle();
    const next = await run();
    expect(next).toMatchObject({
      ok: true,
      mode: 'incremental',
      discrepancies: [],
      range: { from_seq: since, to_seq: await head(), complete: true },
    });
    expect(next.checked).toMatchObject({ transactions: 2, postings: 4, pending_relay: 0, unsealed: 0 });
    // a, b and the funding account (shard) of b's deposit; the idle wallets are not read.
    expect(next.checked.wallets).toBe(3);
    expect(next.checkpoint).toEqual({ id: expect.any(String), seal_seq: await head() });
    expect((await latestCheckpoint())!.previous_id).toBe(first.checkpoint!.id);

    // What the checkpoint keeps per wallet is the sum of its postings up to the checkpoint.
    const { rows } = await sql<{ mismatched: string }>`
      select count(*)::text as mismatched from wallets w
      left join reconciliation_wallet_balances b on b.wallet_id = w.id
      where coalesce(b.posted, 0) <> w.posted`.execute(h.db);
    expect(rows[0]!.mismatched).toBe('0');
  });

  it('finds a posting, a balance and a chain link tampered after the checkpoint, and stores no checkpoint', async () => {
    await run();
    const checkpoint = await latestCheckpoint();
    const tx = await deposit(b, '40');
    const later = await deposit(a, '41');
    await settle();
    const posting = await h.db
      .selectFrom('postings')
      .select('id')
      .where('transaction_id', '=', tx)
      .where('wallet_id', '=', b)
      .executeTakeFirstOrThrow();
    const seal = await h.db
      .selectFrom('journal_seals')
      .selectAll()
      .where('transaction_id', '=', later)
      .executeTakeFirstOrThrow();

    // A posting edited after it was sealed.
    await tamper(h.db, 'postings', sql`update postings set amount = amount + 1 where id = ${posting.id}`);
    try {
      const r = await run();
      expect(r.ok).toBe(false);
      expect(r.discrepancies).toEqual(
        expect.arrayContaining([
          { check: 'transaction_unbalanced', transaction_id: tx, sum: '1', postings: 2 },
          expect.objectContaining({
            check: 'hash_chain',
            transaction_id: tx,
            problem: 'hash does not match the transaction content',
          }),
          expect.objectContaining({ check: 'wallet_posted', wallet_id: b }),
          expect.objectContaining({ check: 'mongo_mismatch', posting_id: posting.id, field: 'amount' }),
        ]),
      );
      expect(r.checkpoint).toBeNull();
      expect(await latestCheckpoint()).toEqual(checkpoint);
    } finally {
      await tamper(h.db, 'postings', sql`update postings set amount = amount - 1 where id = ${posting.id}`);
    }

    // A balance changed on a wallet that nothing else touched since the checkpoint.
    await h.db
      .updateTable('wallets')
      .set({ posted: sql`posted + 9` })
      .where('id', '=', idle[0]!)
      .execute();
    try {
      const r = await run();
      expect(r.discrepancies).toEqual([
        { check: 'wallet_posted', wallet_id: idle[0], stored: '509', from_postings: '500' },
      ]);
      expect(await latestCheckpoint()).toEqual(checkpoint);
    } finally {
      await h.db
        .updateTable('wallets')
        .set({ posted: sql`posted - 9` })
        .where('id', '=', idle[0]!)
        .execute();
    }

    // A seal after the checkpoint rewritten.
    await tamper(
      h.db,
      'journal_seals',
      sql`update journal_seals set hash = ${'f'.repeat(64)} where seq = ${seal.seq}`,
    );
    try {
      const r = await run();
      expect(r.discrepancies).toContainEqual({
        check: 'hash_chain',
        seq: seal.seq.toString(),
        transaction_id: later,
        problem: 'hash does not match the transaction content',
      });
      expect(await latestCheckpoint()).toEqual(checkpoint);
    } finally {
      await tamper(
        h.db,
        'journal_seals',
        sql`update journal_seals set hash = ${seal.hash} where seq = ${seal.seq}`,
      );
    }

    const repaired = await run();
    expect(repaired).toMatchObject({ ok: true, checkpoint: { seal_seq: await head() } });
  });

  it('leaves a tampered posting before the checkpoint to the full run, and notices a rewritten checkpoint seal', async () => {
    const old = await h.db
      .selectFrom('postings')
      .select(['id', 'transaction_id'])
      .where('wallet_id', '=', idle[1]!)
      .executeTakeFirstOrThrow();
    await run();
    await tamper(h.db, 'postings', sql`update postings set amount = amount + 3 where id = ${old.id}`);
    try {
      // The incremental run reads nothing before its checkpoint, by design.
      expect(await run({ storeCheckpoint: false })).toMatchObject({ ok: true, discrepancies: [] });
      const fullRun = await run({ mode: 'full' });
      expect(fullRun.ok).toBe(false);
      expect(fullRun.checkpoint).toBeNull();
      expect(fullRun.discrepancies).toEqual(
        expect.arrayContaining([
          { check: 'transaction_unbalanced', transaction_id: old.transaction_id, sum: '3', postings: 2 },
          expect.objectContaining({ check: 'wallet_posted', wallet_id: idle[1] }),
          expect.objectContaining({ check: 'hash_chain', transaction_id: old.transaction_id }),
        ]),
      );
    } finally {
      await tamper(h.db, 'postings', sql`update postings set amount = amount - 3 where id = ${old.id}`);
    }

    // The seal the checkpoint ends on is compared with the hash the checkpoint verified, and
    // with the anchor that checkpoint left in MongoDB.
    const checkpoint = await latestCheckpoint();
    const seal = await h.db
      .selectFrom('journal_seals')
      .selectAll()
      .where('seq', '=', BigInt(checkpoint!.seal_seq))
      .executeTakeFirstOrThrow();
    await tamper(
      h.db,
      'journal_seals',
      sql`update journal_seals set hash = ${'e'.repeat(64)} where seq = ${seal.seq}`,
    );
    try {
      expect((await run()).discrepancies).toEqual([
        {
          check: 'hash_chain',
          seq: checkpoint!.seal_seq,
          transaction_id: seal.transaction_id,
          problem: 'seal differs from the one the last checkpoint verified',
        },
        {
          check: 'anchor_mismatch',
          seq: checkpoint!.seal_seq,
          anchored_hash: seal.hash,
          found_hash: 'e'.repeat(64),
          anchored_at: expect.any(String),
        },
      ]);
    } finally {
      await tamper(
        h.db,
        'journal_seals',
        sql`update journal_seals set hash = ${seal.hash} where seq = ${seal.seq}`,
      );
    }
    expect((await run()).ok).toBe(true);
  });

  it('never moves the checkpoint past a transaction not sealed yet or whose documents are not relayed yet', async () => {
    await run();
    const sealedHead = await head();
    // Committed but not sealed: its postings count in the balances, the checkpoint stays put.
    await deposit(idle[2]!, '60');
    const unsealed = await run();
    expect(unsealed).toMatchObject({
      ok: true,
      checked: { unsealed: 1 },
      checkpoint: { seal_seq: sealedHead },
    });

    // Sealed, but the transfer's history documents are still in the outbox.
    await settle();
    const depositSeal = await head();
    await transfer(idle[2]!, b, '20');
    await h.sealer.sealAll();
    const relayLag = await run();
    expect(relayLag.ok).toBe(true);
    expect(relayLag.checked.pending_relay).toBeGreaterThan(0);
    expect(relayLag.checkpoint).toEqual({ id: expect.any(String), seal_seq: depositSeal });

    await h.relay.drainAll();
    const caughtUp = await run();
    expect(caughtUp).toMatchObject({
      ok: true,
      range: { from_seq: depositSeal, to_seq: await head() },
      checkpoint: { seal_seq: await head() },
    });
    expect(caughtUp.checked.transactions).toBe(1);
  });

  it('stops after --max-transactions and the next run continues from there', async () => {
    await run();
    const from = BigInt(await head());
    for (const amount of ['1', '2', '3']) await deposit(b, amount);
    await settle();
    const partial = await run({ maxTransactions: 2 });
    expect(partial).toMatchObject({
      ok: true,
      range: { from_seq: from.toString(), to_seq: (from + 2n).toString(), complete: false },
      checkpoint: { seal_seq: (from + 2n).toString() },
    });
    // Wallet balances are compared only by a run that reaches the head.
    expect(partial.checked.wallets).toBe(0);
    const rest = await run({ maxTransactions: 2 });
    expect(rest).toMatchObject({
      ok: true,
      range: { from_seq: (from + 2n).toString(), to_seq: (from + 3n).toString(), complete: true },
    });
    expect(rest.checked.wallets).toBeGreaterThan(0);
    expect((await run({ mode: 'full' })).ok).toBe(true);
  });

  it('two runs at once both report and store their checkpoints one after the other', async () => {
    await deposit(a, '5');
    await settle();
    const runs = await Promise.all([run(), run()]);
    expect(runs.map((r) => r.ok)).toEqual([true, true]);
    const ids = runs.map((r) => r.checkpoint!.id).sort((x, y) => Number(x) - Number(y));
    const last = await latestCheckpoint();
    expect(last!.id).toBe(ids[1]);
    expect(last!.previous_id).toBe(ids[0]);
  });
});
