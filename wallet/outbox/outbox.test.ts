import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../lib/db.js';
import { testEnv } from '../../test/support/test-env.js';
import type { Database } from '../database.js';
import { HISTORY } from '../history/history.collections.js';
import { idempotencyKeyPurge } from '../idempotency/idempotency.repository.js';
import { createOutboxRelay } from './outbox.relay.js';
import { enqueueOutbox, outboxBacklog, purgeRelayedOutbox, relayedOutboxPurge } from './outbox.repository.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';
import { createLogger } from '../../lib/logger.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
/** Service copies this file started: a test that times out must not leave one relaying. */
const children = new Set<ChildProcess>();
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await h.close();
});

async function userPostingIds(walletIds: string[]): Promise<string[]> {
  const rows = await h.db.selectFrom('postings').select('id').where('wallet_id', 'in', walletIds).execute();
  return rows.map((r) => r.id);
}

/** Every posting of these wallets is in MongoDB exactly once, and nothing else is. */
async function expectExactlyOnce(walletIds: string[]) {
  const ids = await userPostingIds(walletIds);
  const docs = await h.mongo
    .collection<{ _id: string }>(HISTORY)
    .find({ wallet_id: { $in: walletIds } }, { projection: { _id: 1 } })
    .toArray();
  expect(docs).toHaveLength(ids.length);
  expect(new Set(docs.map((d) => d._id))).toEqual(new Set(ids));
}

async function depositMany(wallets: number, each: number): Promise<string[]> {
  const ids = await Promise.all(Array.from({ length: wallets }, () => h.wallet('USD')));
  await Promise.all(
    ids.map(async (id) => {
      for (let i = 0; i < each; i++) {
        const res = await h.call('POST', `/internal/wallets/${id}/deposits`, {
          body: { amount: String(i + 1), currency: 'USD', reference: `crash test ${i}` },
          key: randomUUID(),
        });
        if (res.status !== 201) throw new Error(`deposit answered ${res.status}`);
      }
    }),
  );
  return ids;
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function startWalletProcess(port: number): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'wallet/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      LOG_LEVEL: 'error',
      WALLET_HOST: '127.0.0.1',
      WALLET_PORT: String(port),
      WALLET_DATABASE_URL: testEnv('walletDatabaseUrl'),
      MONGO_URL: testEnv('mongoUrl'),
      WALLET_MONGO_DB: testEnv('mongoDb'),
      WALLET_RELAY_INTERVAL_MS: '20',
      WALLET_RELAY_BATCH_SIZE: '10',
      // The killed copy's claims must run out within the test.
      WALLET_RELAY_LEASE_MS: '1000',
      WALLET_DB_POOL_MAX: '4',
    },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

describe('outbox relay', () => {
  it('a relay that dies after writing to MongoDB but before marking rows re-sends without duplicates', async () => {
    const wallets = await depositMany(2, 5);
    const crashing = createOutboxRelay({
      db: h.db,
      mongo: h.mongo,
      log: createLogger('crash', 'silent'),
      afterMongoWrite: async () => {
        throw new Error('simulated crash between the MongoDB write and the commit');
      },
    });
    await expect(crashing.drainAll()).rejects.toThrow('simulated crash');
    await h.relay.drainAll();
    await expectExactlyOnce(wallets);
  });

  it('SIGKILL of the service mid-drain, then restart: every entry in MongoDB exactly once', async () => {
    const wallets = await depositMany(10, 20);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const first = startWalletProcess(port);
    // Kill as soon as the first documents of this test reach MongoDB: the relay is mid-drain.
    await until(
      'the relay to start writing',
      async () => (await h.mongo.collection(HISTORY).countDocuments({ wallet_id: { $in: wallets } })) > 0,
    );
    first.kill('SIGKILL');
    await exited(first);
    const second = startWalletProcess(port);
    try {
      await until(
        'the liveness endpoint',
        async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200,
      );
      const expected = (await userPostingIds(wallets)).length;
      await until(
        'all entries relayed',
        async () =>
          (await h.mongo.collection(HISTORY).countDocuments({ wallet_id: { $in: wallets } })) >= expected,
      );
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^wallet_outbox_lag_seconds\{[^}]*\} \d/m);
    } finally {
      second.kill('SIGTERM');
      await exited(second);
    }
    await expectExactlyOnce(wallets);
    expect(
      await h.db
        .selectFrom('outbox')
        .select('id')
        .where('relayed_at', 'is', null)
        .where('collection', '=', 'transaction_history')
        .where('event_id', 'in', await userPostingIds(wallets))
        .execute(),
    ).toHaveLength(0);
  });

  it('a relay frozen between the MongoDB write and the mark (never releasing) is taken over after its lease, without duplicates', async () => {
    const wallets = await depositMany(2, 4);
    let frozen!: () => void;
    let reached!: () => void;
    const atSeam = new Promise<void>((r) => (reached = r));
    const stuck = createOutboxRelay({
      db: h.db,
      mongo: h.mongo,
      log: createLogger('frozen', 'silent'),
      leaseMs: 500,
      afterMongoWrite: () => {
        reached();
        return new Promise<void>((_, reject) => (frozen = () => reject(new Error('thawed'))));
      },
    });
    const stuckRun = stuck.drainAll().catch(() => undefined);
    await atSeam;
    await new Promise((r) => setTimeout(r, 600));
    const successor = createOutboxRelay({ db: h.db, mongo: h.mongo, log: createLogger('next', 'silent') });
    await successor.drainAll();
    await expectExactlyOnce(wallets);
    frozen();
    await stuckRun;
    await h.relay.drainAll();
    await expectExactlyOnce(wallets);
  });

  it('holds no PostgreSQL transaction open while it writes to MongoDB', async () => {
    const name = `relay-${randomUUID().slice(0, 8)}`;
    const { db } = createDb<Database>(testEnv('walletDatabaseUrl'), { max: 2, name });
    const states: string[] = [];
    try {
      await depositMany(1, 2);
      const relay = createOutboxRelay({
        db,
        mongo: h.mongo,
        log: createLogger('txn', 'silent'),
        afterMongoWrite: async () => {
          const rows = await sql<{ state: string | null }>`
            select state from pg_stat_activity where application_name = ${name}`.execute(h.db);
          states.push(...rows.rows.map((r) => r.state ?? ''));
        },
      });
      await relay.drainAll();
    } finally {
      await db.destroy();
    }
    expect(states.length).toBeGreaterThan(0); // the seam ran and saw the relay's connections
    expect(states.filter((s) => s.startsWith('idle in transaction'))).toEqual([]);
  });

  it('a document MongoDB refuses does not block the rows after it and ends in outbox_dead_letters after N attempts', async () => {
    const bad = `bad-${randomUUID()}`;
    const good = Array.from({ length: 3 }, () => `good-${randomUUID()}`);
    await enqueueOutbox(h.db, [
      { eventId: bad, collection: 'audit_trace', document: { $where: 'refused field name', n: 0 } },
      ...good.map((id, i) => ({ eventId: id, collection: 'audit_trace' as const, document: { n: i + 1 } })),
    ]);
    const registry = new Registry();
    const patient = createOutboxRelay({
      db: h.db,
      mongo: h.mongo,
      log: createLogger('dead', 'silent'),
      registry,
      retryDelayMs: 60_000,
    });
    await patient.drainAll();
    // The rows after the refused one are in MongoDB and marked; the refused one waits.
    const docs = await h.mongo
      .collection<{ _id: string }>('audit_trace')
      .find({ _id: { $in: [bad, ...good] } })
      .toArray();
    expect(docs.map((d) => d._id).sort()).toEqual([...good].sort());
    const afterOne = await h.db
      .selectFrom('outbox')
      .select(['event_id', 'relayed_at', 'attempts', 'last_error'])
      .where('event_id', 'in', [bad, ...good])
      .execute();
    expect(
      afterOne
        .filter((r) => r.relayed_at !== null)
        .map((r) => r.event_id)
        .sort(),
    ).toEqual([...good].sort());
    const refused = afterOne.find((r) => r.event_id === bad)!;
    expect(refused.relayed_at).toBeNull();
    expect(refused.attempts).toBe(1);
    expect(refused.last_error).toMatch(/\$where/);

    // Retried without waiting until the attempts run out: then it is set aside.
    const eagerRegistry = new Registry();
    const eager = createOutboxRelay({
      db: h.db,
      mongo: h.mongo,
      log: createLogger('dead', 'silent'),
      registry: eagerRegistry,
      retryDelayMs: 0,
      maxAttempts: 5,
    });
    await h.db.updateTable('outbox').set({ claimed_until: null }).where('event_id', '=', bad).execute();
    await eager.drainAll();
    expect(await h.db.selectFrom('outbox').select('id').where('event_id', '=', bad).execute()).toEqual([]);
    const dead = await h.db
      .selectFrom('outbox_dead_letters')
      .selectAll()
      .where('event_id', '=', bad)
      .executeTakeFirstOrThrow();
    expect(dead).toMatchObject({ collection: 'audit_trace', attempts: 5 });
    expect(dead.document).toEqual({ $where: 'refused field name', n: 0 });
    const metrics = await eagerRegistry.metrics();
    expect(metrics).toMatch(/^wallet_outbox_dead_letters_total 1$/m);
    expect(metrics).toMatch(/^wallet_outbox_dead_letters [1-9]\d*$/m);

    // The runbook's requeue, after fixing the document, relays it.
    await sql`update outbox_dead_letters set document = document - '$where' where event_id = ${bad}`.execute(
      h.db,
    );
    await sql`
      with r as (delete from outbox_dead_letters where event_id = ${bad} returning *)
      insert into outbox (event_id, collection, document, created_at)
      select event_id, collection, document, created_at from r`.execute(h.db);
    await eager.drainAll();
    expect(await h.mongo.collection<{ _id: string }>('audit_trace').findOne({ _id: bad })).toMatchObject({
      n: 0,
    });
  });
});

describe('backlog metrics', () => {
  it('a scrape reports the backlog as it is at that scrape, not as the scrape before saw it', async () => {
    // Its own database: the shared one's backlog moves with every other test file.
    const own = await createWalletHarness({ isolated: 'outbox_metrics' });
    try {
      const registry = new Registry();
      const relay = createOutboxRelay({
        db: own.db,
        mongo: own.mongo,
        log: createLogger('metrics', 'silent'),
        registry,
      });
      const waiting = (await outboxBacklog(own.db)).pending + 3;
      await enqueueOutbox(
        own.db,
        [1, 2, 3].map((n) => ({
          eventId: randomUUID(),
          collection: 'audit_trace' as const,
          document: { n },
        })),
      );
      // The first scrape printed 0 here: the gauge was set by the lag's collect, after it was printed.
      expect(await registry.metrics()).toMatch(new RegExp(`^wallet_outbox_pending ${waiting}$`, 'm'));

      await relay.drainAll();
      const drained = await registry.metrics();
      expect(drained).toMatch(/^wallet_outbox_pending 0$/m); // printed the previous scrape's count
      expect(drained).toMatch(/^wallet_outbox_lag_seconds 0$/m);
    } finally {
      await own.close();
    }
  });
});

describe('bundles (one outbox row per transfer step, migration 0010)', () => {
  it('a capture queues one row; both history documents and every record reach MongoDB', async () => {
    const a = await h.wallet('USD', 1000n);
    const b = await h.wallet('USD');
    const hold = await h.hold(a, '400', { to: b });
    const transferId = hold.transferId;
    const res = await h.call('POST', `/internal/holds/${hold.body.id}/capture`, {
      body: {
        to_wallet_id: b,
        amount: '250',
        records: {
          auth_log: {
            transfer_id: transferId,
            workflow_id: `transfer-${transferId}`,
            user_id: randomUUID(),
            step_up: false,
            outcome: 'completed',
          },
          audit: [
            { step: 'reserve', status: 'completed', attempt: 1, duration_ms: 3 },
            { step: 'capture', status: 'running', attempt: 0, duration_ms: 0 },
          ],
        },
      },
      key: randomUUID(),
    });
    expect(res.status).toBe(200);
    const tx = String(res.body.transaction_id);
    const postings = await h.db
      .selectFrom('postings')
      .select(['id', 'wallet_id', 'seq'])
      .where('transaction_id', '=', tx)
      .orderBy('position')
      .execute();
    const rows = await h.db
      .selectFrom('outbox')
      .select(['collection', 'event_id'])
      .where('event_id', 'in', [tx, ...postings.map((p) => p.id), `${transferId}:auth-log`])
      .execute();
    expect(rows).toEqual([{ collection: 'bundle', event_id: tx }]);

    await h.relay.drainAll();
    const history = await h.mongo
      .collection<{ _id: string }>(HISTORY)
      .find({ transaction_id: tx })
      .sort({ seq: 1 })
      .toArray();
    expect(history).toEqual([
      expect.objectContaining({
        _id: postings[0]!.id,
        seq: Number(postings[0]!.seq),
        wallet_id: a,
        amount: '250',
        direction: 'debit',
        balance_after: '750',
        kind: 'transfer',
        transfer_id: transferId,
        reference: `hold:${String(hold.body.id)}`,
        created_at: expect.any(Date),
      }),
      expect.objectContaining({
        _id: postings[1]!.id,
        wallet_id: b,
        direction: 'credit',
        balance_after: '250',
      }),
    ]);
    expect(
      await h.mongo
        .collection<{ _id: string }>('transaction_auth_log')
        .findOne({ _id: `${transferId}:auth-log` }),
    ).toMatchObject({ outcome: 'completed', recorded_at: expect.any(Date) });
    expect(
      (await h.mongo.collection('audit_trace').find({ transfer_id: transferId }).toArray())
        .map((d) => d._id)
        .sort(),
    ).toEqual([`${transferId}:audit:0:reserve:completed`, `${transferId}:audit:1:capture:running`]);
  });

  it('a bundle with a refused document is retried whole: the others land once, all land after the fix', async () => {
    const good = `good-${randomUUID()}`;
    const bad = `bad-${randomUUID()}`;
    const row = `bundle-${randomUUID()}`;
    const events = [
      { event_id: good, collection: 'audit_trace', document: { n: 1 } },
      { event_id: bad, collection: 'audit_trace', document: { $where: 'refused field name', n: 2 } },
    ];
    const malformed = `bundle-${randomUUID()}`;
    await sql`insert into outbox (event_id, collection, document) values
      (${row}, 'bundle', ${JSON.stringify({ events })}::jsonb),
      (${malformed}, 'bundle', '{"events": [{"event_id": 7}]}'::jsonb)`.execute(h.db);
    const relay = createOutboxRelay({
      db: h.db,
      mongo: h.mongo,
      log: createLogger('bundle', 'silent'),
      retryDelayMs: 60_000,
    });
    await relay.drainAll();
    const found = async () =>
      (
        await h.mongo
          .collection<{ _id: string }>('audit_trace')
          .find({ _id: { $in: [good, bad] } })
          .toArray()
      )
        .map((d) => d._id)
        .sort();
    expect(await found()).toEqual([good]);
    const refused = await h.db
      .selectFrom('outbox')
      .select(['event_id', 'relayed_at', 'attempts', 'last_error'])
      .where('event_id', 'in', [row, malformed])
      .orderBy('event_id')
      .execute();
    expect(refused.map((r) => [r.event_id, r.relayed_at, r.attempts])).toEqual(
      [
        [row, null, 1],
        [malformed, null, 1],
      ].sort(([x], [y]) => String(x).localeCompare(String(y))),
    );
    expect(refused.find((r) => r.event_id === row)!.last_error).toMatch(/\$where/);
    expect(refused.find((r) => r.event_id === malformed)!.last_error).toMatch(/^bundle: /);

    // Fixed (as the runbook fixes a document) and retried: the good one is a duplicate, ignored.
    await sql`update outbox set document = jsonb_set(document, '{events,1,document}', '{"n": 2}'), claimed_until = null
      where event_id = ${row}`.execute(h.db);
    await relay.drainAll();
    expect(await found()).toEqual([bad, good].sort());
    const relayed = await h.db
      .selectFrom('outbox')
      .select('relayed_at')
      .where('event_id', '=', row)
      .executeTakeFirstOrThrow();
    expect(relayed.relayed_at).not.toBeNull();
    await h.db.deleteFrom('outbox').where('event_id', '=', malformed).execute();
  });
});

describe('purges', () => {
  it('deletes relayed outbox rows past retention and keeps unrelayed and recent ones', async () => {
    const [oldRelayed, recentRelayed, oldPending] = [1, 2, 3].map(() => `purge-${randomUUID()}`);
    await enqueueOutbox(
      h.db,
      [oldRelayed!, recentRelayed!, oldPending!].map((id) => ({
        eventId: id,
        collection: 'audit_trace' as const,
        document: { purge: true },
      })),
    );
    await sql`update outbox set created_at = now() - interval '30 days', relayed_at = now() - interval '8 days'
              where event_id = ${oldRelayed}`.execute(h.db);
    await sql`update outbox set created_at = now() - interval '30 days', relayed_at = now() - interval '6 days'
              where event_id = ${recentRelayed}`.execute(h.db);
    // Kept out of every relay's reach for the test, as a row MongoDB keeps refusing would be.
    await sql`update outbox set created_at = now() - interval '30 days', claimed_until = now() + interval '1 hour'
              where event_id = ${oldPending}`.execute(h.db);
    const purged = await purgeRelayedOutbox(h.db, 7, new Date(), 1);
    expect(purged).toBeGreaterThanOrEqual(1);
    const left = await h.db
      .selectFrom('outbox')
      .select('event_id')
      .where('event_id', 'in', [oldRelayed!, recentRelayed!, oldPending!])
      .execute();
    expect(left.map((r) => r.event_id).sort()).toEqual([recentRelayed!, oldPending!].sort());
    await h.db.deleteFrom('outbox').where('event_id', '=', oldPending!).execute();
  });

  /** The plan of a purge statement when the planner must avoid a sequential scan if it can. */
  async function planWithoutSeqScan(query: ReturnType<typeof relayedOutboxPurge>): Promise<string> {
    return h.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      const plan = await sql<{ 'QUERY PLAN': string }>`explain (costs off) ${query}`.execute(trx);
      return plan.rows.map((r) => r['QUERY PLAN']).join('\n');
    });
  }

  it('the outbox and idempotency purges read an index, not the whole table', async () => {
    const before = new Date(Date.now() - 7 * 86_400_000);
    // Without a usable index the planner still answers a (disabled) Seq Scan.
    const outbox = await planWithoutSeqScan(relayedOutboxPurge(before, 1000));
    expect(outbox).toMatch(/Index (Only )?Scan (using|on) outbox_relayed/);
    expect(outbox).not.toMatch(/Seq Scan on outbox/);
    const keys = await planWithoutSeqScan(idempotencyKeyPurge(before, 1000));
    expect(keys).toMatch(/Index (Only )?Scan (using|on) idempotency_keys_created_at/);
    expect(keys).not.toMatch(/Seq Scan on idempotency_keys/);
  });
});
