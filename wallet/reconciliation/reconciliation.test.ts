import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY } from '../history/history.collections.js';
import { createLogger } from '../../lib/logger.js';
import { ANCHORS, createJournalAnchorer, type AnchorDocument } from '../ledger/journal-anchors.js';
import { GENESIS_HASH, journalHash, type HashVersion } from '../ledger/journal-hash.js';
import type { JournalSealRow } from '../ledger/ledger.table.js';
import { createJournalSealer } from '../ledger/journal-sealer.js';
import { createReconciliationService } from './reconciliation.service.js';
import { tamper as tamperWith } from './testing/tamper.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A private PostgreSQL and MongoDB database: this file damages the books on purpose. */
let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness({ isolated: 'reconciliation' });
});
afterAll(async () => {
  await h.close();
});

async function report() {
  await h.sealer.sealAll();
  const res = await h.call('GET', '/internal/reconciliation');
  expect(res.status).toBe(200);
  return res.body as {
    ok: boolean;
    discrepancies: Record<string, string>[];
    checked: Record<string, number>;
  };
}

/** Runs `reconcile.command.ts` as an operator would, against this file's databases. */
function runCommand(): Promise<{ code: number | null; report: { ok: boolean; discrepancies: unknown[] } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'wallet/reconciliation/reconcile.command.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...h.env, LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        resolve({ code, report: JSON.parse(out) as { ok: boolean; discrepancies: unknown[] } });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

/** Runs a statement with the append-only triggers off, as an attacker with table rights could. */
function tamper(table: string, statement: ReturnType<typeof sql>) {
  return tamperWith(h.db, table, statement);
}

type Seal = JournalSealRow;

/** The posting of a journal transaction on one wallet. */
function postingOf(transactionId: string, walletId: string) {
  return h.db
    .selectFrom('postings')
    .select(['id', 'amount'])
    .where('transaction_id', '=', transactionId)
    .where('wallet_id', '=', walletId)
    .executeTakeFirstOrThrow();
}

/**
 * Recomputes every seal's hash and link from the journal as it is now (what an owner who
 * rewrote history would do), and returns the new hash per sequence number.
 */
async function rehash(seals: Seal[]): Promise<Map<bigint, string>> {
  const txs = await h.db.selectFrom('journal_transactions').selectAll().execute();
  const byId = new Map(txs.map((t) => [t.id, t]));
  const legs = await h.db.selectFrom('postings').selectAll().execute();
  let prev = GENESIS_HASH;
  const hashes = new Map<bigint, string>();
  for (const s of seals) {
    const tx = byId.get(s.transaction_id)!;
    const hash = journalHash(
      { ...tx, seq: s.seq, prev_hash: prev },
      legs.filter((p) => p.transaction_id === tx.id),
      s.hash_version as HashVersion,
    );
    hashes.set(s.seq, hash);
    prev = hash;
  }
  await writeSeals(
    seals.map((s, i) => ({
      seq: s.seq,
      hash: hashes.get(s.seq)!,
      prev_hash: i === 0 ? GENESIS_HASH : hashes.get(seals[i - 1]!.seq)!,
    })),
  );
  return hashes;
}

/** Puts seals back as they were (re-inserting the ones that were deleted). */
async function restoreSeals(seals: Seal[]): Promise<void> {
  await writeSeals(seals);
  for (const s of seals) {
    await tamper(
      'journal_seals',
      sql`insert into journal_seals (seq, transaction_id, prev_hash, hash, sealed_at, hash_version)
        values (${s.seq}, ${s.transaction_id}, ${s.prev_hash}, ${s.hash}, ${s.sealed_at}, ${s.hash_version})
        on conflict (seq) do nothing`,
    );
  }
}

async function writeSeals(seals: { seq: bigint; prev_hash: string; hash: string }[]): Promise<void> {
  // Moved aside first: the new hashes must not collide with old ones under the unique index.
  await tamper(
    'journal_seals',
    sql`update journal_seals s set hash = 'x' || s.seq where s.seq = any(${seals.map((s) => s.seq.toString())}::bigint[])`,
  );
  await tamper(
    'journal_seals',
    sql`update journal_seals s set prev_hash = v.prev_hash, hash = v.hash
      from unnest(${seals.map((s) => s.seq.toString())}::bigint[], ${seals.map((s) => s.prev_hash)}::text[],
        ${seals.map((s) => s.hash)}::text[]) as v(seq, prev_hash, hash)
      where s.seq = v.seq`,
  );
}

describe('reconciliation', () => {
  let a: string;
  let b: string;
  let depositTx: string;
  beforeAll(async () => {
    a = await h.wallet('USD');
    b = await h.wallet('USD');
    depositTx = (
      await h.call('POST', `/internal/wallets/${a}/deposits`, {
        body: { amount: '1000', currency: 'USD', reference: 'r' },
        key: randomUUID(),
      })
    ).body.transaction_id;
    const hold = await h.hold(a, '400', { to: b });
    await h.call('POST', `/internal/holds/${hold.body.id}/capture`, {
      body: { to_wallet_id: b, amount: '250' },
      key: randomUUID(),
    });
    await h.hold(a, '100', { to: b });
    await h.call('POST', `/internal/wallets/${b}/withdrawals`, {
      body: { amount: '50', currency: 'USD', reference: 'w' },
      key: randomUUID(),
    });
    await h.relay.drainAll();
  });

  it('reports clean books as ok, and only operators may ask', async () => {
    const r = await report();
    expect(r).toMatchObject({ ok: true, discrepancies: [] });
    expect(r.checked).toMatchObject({ transactions: 3, pending_relay: 0, unsealed: 0 });
    const writer = await h.issuer.serviceToken('wallet:read wallet:write');
    expect((await h.call('GET', '/internal/reconciliation', { token: writer })).status).toBe(403);
  });

  it('names the missing, unexpected and altered MongoDB entries', async () => {
    const postings = await h.db
      .selectFrom('postings')
      .select(['id', 'wallet_id'])
      .where('wallet_id', '=', b)
      .execute();
    const [first, second] = postings;
    const history = h.mongo.collection<{ _id: string }>(HISTORY);
    const originals = await history.find({ _id: { $in: [first!.id, second!.id] } }).toArray();
    expect(originals).toHaveLength(2);
    await h.mongo.collection<{ _id: string }>(HISTORY).deleteOne({ _id: first!.id });
    await h.mongo
      .collection<{ _id: string }>(HISTORY)
      .updateOne({ _id: second!.id }, { $set: { amount: '999999' } });
    const stray = randomUUID();
    await h.mongo.collection<{ _id: string; wallet_id: string }>(HISTORY).insertMany([
      { _id: stray, wallet_id: b },
      { _id: 'forged-entry', wallet_id: b },
    ]);
    const r = await report();
    expect(r.ok).toBe(false);
    expect(r.discrepancies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ check: 'mongo_missing', posting_id: first!.id, wallet_id: b }),
        expect.objectContaining({
          check: 'mongo_mismatch',
          posting_id: second!.id,
          field: 'amount',
          found: '999999',
        }),
        { check: 'mongo_unexpected', document_id: stray },
        { check: 'mongo_unexpected', document_id: 'forged-entry' },
      ]),
    );
    expect(r.discrepancies).toHaveLength(4);
    // Repair MongoDB (what re-queuing the outbox rows would make the relay write) and check again.
    await history.deleteMany({ _id: { $in: [stray, 'forged-entry', second!.id] } });
    await history.insertMany(originals);
    expect((await report()).ok).toBe(true);
  });

  it('the reconcile command exits 0 on clean books and 1, listing them, on discrepancies', async () => {
    const clean = await runCommand();
    expect(clean.code).toBe(0);
    expect(clean.report.ok).toBe(true);
    await h.db
      .updateTable('wallets')
      .set({ posted: sql`posted + 1` })
      .where('id', '=', b)
      .execute();
    try {
      const dirty = await runCommand();
      expect(dirty.code).toBe(1);
      expect(dirty.report.discrepancies).toContainEqual(
        expect.objectContaining({ check: 'wallet_posted', wallet_id: b }),
      );
    } finally {
      await h.db
        .updateTable('wallets')
        .set({ posted: sql`posted - 1` })
        .where('id', '=', b)
        .execute();
    }
  });

  it('names a wallet whose stored balances disagree with postings and holds', async () => {
    await h.db
      .updateTable('wallets')
      .set({ posted: sql`posted + 5`, pending: sql`pending + 7` })
      .where('id', '=', a)
      .execute();
    const r = await report();
    expect(r.discrepancies).toEqual(
      expect.arrayContaining([
        { check: 'wallet_posted', wallet_id: a, stored: '755', from_postings: '750' },
        { check: 'wallet_pending', wallet_id: a, stored: '107', from_holds: '100' },
        expect.objectContaining({
          check: 'currency_unbalanced',
          currency: 'USD',
          source: 'wallets',
          sum: '5',
        }),
      ]),
    );
    await h.db
      .updateTable('wallets')
      .set({ posted: sql`posted - 5`, pending: sql`pending - 7` })
      .where('id', '=', a)
      .execute();
    expect((await report()).ok).toBe(true);
  });

  it('detects an edited posting: unbalanced journal, wrong balance and a broken hash chain', async () => {
    const posting = await h.db
      .selectFrom('postings')
      .select(['id', 'amount'])
      .where('transaction_id', '=', depositTx)
      .where('wallet_id', '=', a)
      .executeTakeFirstOrThrow();
    await tamper('postings', sql`update postings set amount = amount + 1 where id = ${posting.id}`);
    const r = await report();
    const checks = r.discrepancies.map((d) => d.check);
    expect(checks).toEqual(
      expect.arrayContaining([
        'transaction_unbalanced',
        'currency_unbalanced',
        'wallet_posted',
        'mongo_mismatch',
        'hash_chain',
      ]),
    );
    expect(r.discrepancies).toContainEqual(
      expect.objectContaining({
        check: 'hash_chain',
        transaction_id: depositTx,
        problem: 'hash does not match the transaction content',
      }),
    );
    await tamper('postings', sql`update postings set amount = amount - 1 where id = ${posting.id}`);
    expect((await report()).ok).toBe(true);
  });

  it("detects a posting in another currency than its wallet and transaction, once the schema's keys are dropped", async () => {
    const posting = await postingOf(depositTx, a);
    const edit = (currency: string) =>
      tamper('postings', sql`update postings set currency = ${currency} where id = ${posting.id}`);
    // The composite keys (0042) refuse it even with the triggers off...
    await expect(edit('EUR')).rejects.toThrow(/postings_(wallet|transaction)_currency/);
    // ...so only the tables' owner, dropping them first, can store it; reconciliation still sees
    // it, and the seal (hash version 2 covers a posting's currency) no longer matches.
    await sql`alter table postings drop constraint postings_wallet_currency,
      drop constraint postings_transaction_currency`.execute(h.db);
    try {
      await edit('EUR');
      const { discrepancies } = await report();
      expect(discrepancies).toEqual(
        expect.arrayContaining([
          {
            check: 'posting_currency',
            posting_id: posting.id,
            posting: 'EUR',
            transaction: 'USD',
            wallet: 'USD',
          },
          expect.objectContaining({ check: 'currency_unbalanced', currency: 'EUR', source: 'postings' }),
          expect.objectContaining({ check: 'currency_unbalanced', currency: 'USD', source: 'postings' }),
          expect.objectContaining({
            check: 'hash_chain',
            transaction_id: depositTx,
            problem: 'hash does not match the transaction content',
          }),
        ]),
      );
      expect(discrepancies).toHaveLength(4);
    } finally {
      await edit('USD');
      await sql`alter table postings
        add constraint postings_wallet_currency foreign key (wallet_id, currency) references wallets (id, currency),
        add constraint postings_transaction_currency foreign key (transaction_id, currency)
          references journal_transactions (id, currency)`.execute(h.db);
    }
    expect((await report()).ok).toBe(true);
  });

  it.each([
    ['balance_after', sql`balance_after = balance_after + 1`, sql`balance_after = balance_after - 1`],
    [
      'created_at',
      sql`created_at = created_at + interval '1 second'`,
      sql`created_at = created_at - interval '1 second'`,
    ],
  ])("detects a posting's %s edited: the version 2 hash covers it", async (column, edit, undo) => {
    const posting = await postingOf(depositTx, a);
    await tamper('postings', sql`update postings set ${edit} where id = ${posting.id}`);
    try {
      expect((await report()).discrepancies).toEqual(
        expect.arrayContaining([
          {
            check: 'hash_chain',
            seq: expect.any(String),
            transaction_id: depositTx,
            problem: 'hash does not match the transaction content',
          },
        ]),
      );
    } finally {
      await tamper('postings', sql`update postings set ${undo} where id = ${posting.id}`);
    }
    expect((await report()).ok, column).toBe(true);
  });

  it('verifies seals of hash version 1 as version 1, and a version changed on a seal breaks its hash', async () => {
    const w = await h.wallet('USD');
    const old = await h.call('POST', `/internal/wallets/${w}/deposits`, {
      body: { amount: '9', currency: 'USD', reference: 'sealed as version 1' },
      key: randomUUID(),
    });
    // Sealed as a sealer before migration 0044 did: version 1.
    const v1 = createJournalSealer({ db: h.db, log: createLogger('v1-sealer', 'silent'), hashVersion: 1 });
    expect(await v1.sealAll()).toBe(1);
    await h.call('POST', `/internal/wallets/${w}/deposits`, {
      body: { amount: '1', currency: 'USD', reference: 'sealed as version 2' },
      key: randomUUID(),
    });
    await h.relay.drainAll();
    expect((await report()).ok).toBe(true);
    const { rows } = await sql<{ seq: string; hash_version: number }>`
      select seq::text, hash_version from journal_seals order by seq desc limit 2`.execute(h.db);
    expect(rows.map((r) => r.hash_version)).toEqual([2, 1]);

    // Version 1 does not cover balance_after: only its MongoDB copy tells.
    const posting = await postingOf(old.body.transaction_id, w);
    await tamper(
      'postings',
      sql`update postings set balance_after = balance_after + 1 where id = ${posting.id}`,
    );
    try {
      expect((await report()).discrepancies).toEqual([
        expect.objectContaining({ check: 'mongo_mismatch', posting_id: posting.id, field: 'balance_after' }),
      ]);
    } finally {
      await tamper(
        'postings',
        sql`update postings set balance_after = balance_after - 1 where id = ${posting.id}`,
      );
    }
    // Claiming the newer version for an old seal (or the reverse) changes what its hash must be.
    const seq = rows[1]!.seq;
    await tamper('journal_seals', sql`update journal_seals set hash_version = 2 where seq = ${seq}`);
    try {
      expect((await report()).discrepancies).toEqual([
        {
          check: 'hash_chain',
          seq,
          transaction_id: old.body.transaction_id,
          problem: 'hash does not match the transaction content',
        },
      ]);
    } finally {
      await tamper('journal_seals', sql`update journal_seals set hash_version = 1 where seq = ${seq}`);
    }
    expect((await report()).ok).toBe(true);
  });

  it('detects history rewritten inside PostgreSQL with every later hash recomputed, by the anchors in MongoDB', async () => {
    await h.sealer.sealAll();
    const anchorer = createJournalAnchorer({
      db: h.db,
      mongo: h.mongo,
      log: createLogger('anchorer', 'silent'),
    });
    expect(await anchorer.anchorOnce()).toBe(1);
    // The same head is anchored once, whoever asks.
    expect(await anchorer.anchorOnce()).toBe(0);
    const before = await report();
    expect(before.ok).toBe(true);
    expect(before.checked.anchors).toBeGreaterThanOrEqual(1);

    // As the tables' owner could: the deposit's reference rewritten, its seal and every later
    // one recomputed, so the chain inside PostgreSQL is consistent again.
    const original = await h.db
      .selectFrom('journal_transactions')
      .select('reference')
      .where('id', '=', depositTx)
      .executeTakeFirstOrThrow();
    const seals = await h.db.selectFrom('journal_seals').selectAll().orderBy('seq').execute();
    await tamper(
      'journal_transactions',
      sql`update journal_transactions set reference = 'rewritten' where id = ${depositTx}`,
    );
    const rewritten = await rehash(seals);
    try {
      const r = await report();
      // Nothing inside PostgreSQL shows it...
      expect(r.discrepancies.filter((d) => d.check !== 'anchor_mismatch')).toEqual([]);
      // ...but every anchored seal now differs from its anchor.
      const anchored = await h.mongo.collection<AnchorDocument>(ANCHORS).find().sort({ _id: 1 }).toArray();
      expect(anchored.length).toBeGreaterThanOrEqual(1);
      expect(r.discrepancies).toEqual(
        anchored.map((anchor) => ({
          check: 'anchor_mismatch',
          seq: String(anchor._id),
          anchored_hash: anchor.hash,
          found_hash: rewritten.get(BigInt(anchor._id)),
          anchored_at: anchor.anchored_at.toISOString(),
        })),
      );
      // The incremental run sees it from its checkpoint on, and stores no checkpoint.
      const incremental = await createReconciliationService({ db: h.db, mongo: h.mongo }).run({
        mode: 'incremental',
        storeCheckpoint: true,
      });
      expect(incremental.discrepancies).toContainEqual(expect.objectContaining({ check: 'anchor_mismatch' }));
      expect(incremental.checkpoint).toBeNull();
    } finally {
      await tamper(
        'journal_transactions',
        sql`update journal_transactions set reference = ${original.reference} where id = ${depositTx}`,
      );
      await restoreSeals(seals);
    }
    expect((await report()).ok).toBe(true);

    // Seals removed from the end of the chain: their anchor names them.
    const head = seals.at(-1)!;
    await tamper('journal_seals', sql`delete from journal_seals where seq = ${head.seq}`);
    try {
      const r = await createReconciliationService({
        db: h.db,
        mongo: h.mongo,
        unsealedAfterSeconds: 3600,
      }).run();
      expect(r.discrepancies).toContainEqual(
        expect.objectContaining({ check: 'anchor_mismatch', seq: String(head.seq), found_hash: null }),
      );
    } finally {
      await restoreSeals([head]);
    }
    expect((await report()).ok).toBe(true);
  });

  it('detects a rewritten transaction even when its seal was recomputed: the next link breaks', async () => {
    const tx = await h.db
      .selectFrom('journal_transactions')
      .selectAll()
      .where('id', '=', depositTx)
      .executeTakeFirstOrThrow();
    const seal = await h.db
      .selectFrom('journal_seals')
      .selectAll()
      .where('transaction_id', '=', depositTx)
      .executeTakeFirstOrThrow();
    const legs = await h.db
      .selectFrom('postings')
      .selectAll()
      .where('transaction_id', '=', depositTx)
      .execute();
    const forged = journalHash(
      { ...tx, reference: 'forged', seq: seal.seq, prev_hash: seal.prev_hash },
      legs,
    );
    await tamper(
      'journal_transactions',
      sql`update journal_transactions set reference = 'forged' where id = ${depositTx}`,
    );
    await tamper('journal_seals', sql`update journal_seals set hash = ${forged} where seq = ${seal.seq}`);
    const r = await report();
    expect(r.discrepancies).toEqual([
      {
        check: 'hash_chain',
        seq: String(seal.seq + 1n),
        transaction_id: expect.any(String),
        problem: 'prev_hash does not match the previous transaction',
      },
    ]);
    await tamper(
      'journal_transactions',
      sql`update journal_transactions set reference = ${tx.reference} where id = ${depositTx}`,
    );
    await tamper('journal_seals', sql`update journal_seals set hash = ${seal.hash} where seq = ${seal.seq}`);
    expect((await report()).ok).toBe(true);
  });

  it('detects a sealed transaction edited after sealing, and a seal removed from the chain', async () => {
    const seal = await h.db
      .selectFrom('journal_seals')
      .selectAll()
      .where('transaction_id', '=', depositTx)
      .executeTakeFirstOrThrow();
    await tamper(
      'journal_transactions',
      sql`update journal_transactions set transfer_id = 'x' where id = ${depositTx}`,
    );
    expect((await report()).discrepancies).toEqual([
      {
        check: 'hash_chain',
        seq: String(seal.seq),
        transaction_id: depositTx,
        problem: 'hash does not match the transaction content',
      },
    ]);
    await tamper(
      'journal_transactions',
      sql`update journal_transactions set transfer_id = null where id = ${depositTx}`,
    );
    await tamper('journal_seals', sql`delete from journal_seals where seq = ${seal.seq}`);
    try {
      const { discrepancies } = await createReconciliationService({
        db: h.db,
        mongo: h.mongo,
        unsealedAfterSeconds: 0,
      }).run();
      expect(discrepancies).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            check: 'hash_chain',
            seq: String(seal.seq + 1n),
            problem: `expected sequence ${seal.seq}`,
          }),
          expect.objectContaining({ check: 'journal_unsealed', transaction_id: depositTx }),
        ]),
      );
    } finally {
      await tamper(
        'journal_seals',
        sql`insert into journal_seals (seq, transaction_id, prev_hash, hash, sealed_at, hash_version)
          values (${seal.seq}, ${seal.transaction_id}, ${seal.prev_hash}, ${seal.hash}, ${seal.sealed_at},
            ${seal.hash_version})`,
      );
    }
    expect((await report()).ok).toBe(true);
  });

  it('reports a journal transaction left unsealed past the threshold, and not before', async () => {
    const w = await h.wallet('USD');
    const dep = await h.call('POST', `/internal/wallets/${w}/deposits`, {
      body: { amount: '5', currency: 'USD', reference: 'unsealed' },
      key: randomUUID(),
    });
    await h.relay.drainAll();
    const lenient = await h.call('GET', '/internal/reconciliation');
    expect(lenient.body.ok).toBe(true);
    expect(lenient.body.checked.unsealed).toBe(1);
    const strict = await createReconciliationService({
      db: h.db,
      mongo: h.mongo,
      unsealedAfterSeconds: 0,
    }).run();
    expect(strict.discrepancies).toEqual([
      { check: 'journal_unsealed', transaction_id: dep.body.transaction_id, created_at: expect.any(String) },
    ]);
    expect((await report()).checked.unsealed).toBe(0);
  });

  it('concurrent postings with two sealers running all end sealed in one verifiable chain', async () => {
    const before = await report();
    const wallets = await Promise.all([h.wallet('USD', 500n), h.wallet('USD', 500n), h.wallet('USD')]);
    // Two sealers, as two service copies would run: the advisory lock keeps one chain.
    const second = createJournalSealer({ db: h.db, log: createLogger('second-sealer', 'silent') });
    h.sealer.start(5);
    second.start(5);
    try {
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          i % 3 === 2
            ? h.call('POST', `/internal/wallets/${wallets[i % 2]}/withdrawals`, {
                body: { amount: '3', currency: 'USD', reference: `w${i}` },
                key: randomUUID(),
              })
            : h.call('POST', `/internal/wallets/${wallets[2]}/deposits`, {
                body: { amount: String(i + 1), currency: 'USD', reference: `d${i}` },
                key: randomUUID(),
              }),
        ),
      );
    } finally {
      await h.sealer.stop();
      await second.stop();
    }
    await h.relay.drainAll();
    const after = await report();
    expect(after).toMatchObject({ ok: true, discrepancies: [] });
    expect(after.checked.unsealed).toBe(0);
    expect(after.checked.transactions).toBe(before.checked.transactions! + 2 + 30);
    const { rows } = await sql<{
      n: string;
      max: string;
    }>`select count(*)::text as n, max(seq)::text as max from journal_seals`.execute(h.db);
    expect(rows[0]!.n).toBe(rows[0]!.max);
  });

  it('journal rows are append-only and every journal transaction must balance', async () => {
    await expect(sql`update postings set amount = 1 where wallet_id = ${a}`.execute(h.db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from journal_transactions where id = ${depositTx}`.execute(h.db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`update journal_seals set hash = 'x'`.execute(h.db)).rejects.toThrow(/append-only/);
    await expect(
      sql`update wallets set posted = posted - 10000 where id = ${a}`.execute(h.db),
    ).rejects.toThrow(/wallets_available_non_negative/);
  });
});
