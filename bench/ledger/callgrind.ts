/**
 * PostgreSQL instructions per reserve + capture pair, counted by callgrind: the figure of the
 * table in docs/wallet.md ("What a reserve + capture costs PostgreSQL"). Wall-clock rates on a
 * shared 2-core machine say little; an instruction count of the same statements on the same data
 * says exactly what a schema change saves.
 *
 *   node --import tsx bench/ledger/callgrind.ts [--upto <migration>] [--pairs 100] [--seed 2000]
 *     [--wallets 50] [--relay] [--keep]
 *   node --import tsx bench/ledger/callgrind.ts --pgbench [--pairs 100] [--seed 2000]
 *
 * `--sql '<statements>'` runs after the migrations, before seeding: a suspect undone or a
 * candidate change measured without a migration; `--variant <name>` runs one of
 * `wal-variants.ts` (the regression's suspects, each undone). `--prepared` sends the two calls
 * as prepared statements (PREPARE once, then EXECUTE), as WalletService's named statements do.
 * `--publish` adds the event publisher's claim and settle of the pairs' rows (seeded ones count
 * as published). `--one-call` sends each pair as ONE call, `velora_reserve_capture_transfer`
 * (migration 0046: a transfer without step-up reserved and captured in one transaction), with
 * the same records; the seed is made of two-call pairs either way.
 *
 * 1. A private PostgreSQL cluster (initdb in a temporary folder, its own port), migrated up to
 *    `--upto` (default: every migration), seeded with `--wallets` funded wallets and `--seed`
 *    earlier pairs made by the same functions, sealed, relayed (outbox rows marked) and vacuumed.
 * 2. The cluster is stopped; `postgres --single` runs under callgrind on two copies of it: one
 *    with 1 pair, one with `--pairs` + 1 pairs, each pair as two statements (one transaction
 *    each, as the service sends them). Per pair = (second − first) / pairs, so the start-up cost
 *    cancels. `--relay` adds the relay's claim and mark statements for the pairs' outbox rows.
 *
 * Each capture carries the records the orchestrator sends for a transfer without step-up (the
 * auth log, and audit entries for reserve, step_up, capture), built by `transferRecordEvents`.
 * The capture names its hold by a sub-select on the transfer id (single-user mode cannot feed
 * the reserve's answer back); the service passes the id.
 *
 * `--pgbench`: the reference of the ledger bench, pgbench's built-in TPC-B-like transaction
 * (BEGIN, 3 UPDATEs, a SELECT, an INSERT, END: one statement per line, as pgbench's default
 * simple protocol sends them) on a `pgbench -i -s 8` database (the bench's scale for 8 clients)
 * after `--seed` earlier transactions; per transaction, the same subtraction.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { createDb, migrateToLatest } from '../../lib/db.js';
import { createLogger } from '../../lib/logger.js';
import { transferRecordEvents } from '../../wallet/audit/audit-records.js';
import type { Database } from '../../wallet/database.js';
import { createJournalSealer } from '../../wallet/ledger/journal-sealer.js';
import { walletMigrations } from '../../wallet/migrations/migrations.js';
import { asPostgres, startPrivateCluster } from './private-cluster.js';
import { VARIANTS } from './wal-variants.js';

const DATABASE = 'velora_cg';
const SCOPE = 'client:velora-orchestrator';

const { values: args } = parseArgs({
  options: {
    upto: { type: 'string' },
    pairs: { type: 'string', default: '100' },
    seed: { type: 'string', default: '2000' },
    wallets: { type: 'string', default: '50' },
    relay: { type: 'boolean', default: false },
    pgbench: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    sql: { type: 'string' },
    variant: { type: 'string' },
    prepared: { type: 'boolean', default: false },
    publish: { type: 'boolean', default: false },
    'one-call': { type: 'boolean', default: false },
  },
});
if (args.variant && !(args.variant in VARIANTS)) throw new Error(`no variant ${args.variant}`);
const EXTRA_SQL = args.sql ?? (args.variant ? VARIANTS[args.variant] : undefined);
const PAIRS = Number(args.pairs);
const SEED = Number(args.seed);
const WALLETS = Number(args.wallets);

interface Wallet {
  id: string;
  userId: string;
}

/** The statements of one pair, as literal SQL (single-user mode has no parameters). */
function pairStatements(
  from: Wallet,
  to: Wallet,
  amount: number,
  prepared = args.prepared,
  oneCall = args['one-call'],
): string[] {
  const transferId = randomUUID();
  const workflowId = `transfer-${transferId}`;
  const events = transferRecordEvents(
    {
      auth_log: {
        transfer_id: transferId,
        workflow_id: workflowId,
        user_id: from.userId,
        client_id: 'velora-gateway',
        token_jti: randomUUID(),
        ip: '127.0.0.1',
        user_agent: 'velora-callgrind',
        step_up: false,
        outcome: 'completed',
      },
      audit: [
        { step: 'reserve', status: 'completed', attempt: 1, duration_ms: 4 },
        { step: 'step_up', status: 'skipped', attempt: 0, duration_ms: 0 },
        { step: 'capture', status: 'running', attempt: 0, duration_ms: 0 },
      ],
    },
    'velora-orchestrator',
  ).map((e) => ({ event_id: e.eventId, collection: e.collection, document: e.document }));
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const reserveArgs =
    `${q(SCOPE)}, ${q(`${workflowId}:reserve`)}, ${q(randomUUID())}, ` +
    `${q(transferId)}, ${q(from.userId)}, ${q(from.id)}, ${q(to.id)}, ${amount}, 'USD', 500000, 2000000000, 3600`;
  const holdOf = `(select h.id from holds h where h.transfer_id = ${q(transferId)} and h.kind = 'transfer')`;
  const captureArgs = (hold: string) =>
    `${q(SCOPE)}, ${q(`${workflowId}:capture`)}, ${q(randomUUID())}, ${hold}, ${q(to.id)}, ` +
    `null, ${q(JSON.stringify(events))}::jsonb`;
  if (oneCall) {
    const oneCallArgs =
      `${q(SCOPE)}, ${q(`${workflowId}:reserve`)}, ${q(randomUUID())}, ${q(`${workflowId}:capture`)}, ` +
      `${q(randomUUID())}, ${q(transferId)}, ${q(from.userId)}, ${q(from.id)}, ${q(to.id)}, ${amount}, 'USD', ` +
      `500000, 2000000000, 3600, ${q(JSON.stringify(events))}::jsonb`;
    return [
      prepared
        ? `execute velora_reserve_capture(${oneCallArgs})`
        : `select * from velora_reserve_capture_transfer(${oneCallArgs})`,
    ];
  }
  const reserve = prepared
    ? `execute velora_reserve(${reserveArgs})`
    : `select * from velora_reserve_transfer(${reserveArgs})`;
  const capture = prepared
    ? `execute velora_capture(${captureArgs(q(transferId))})`
    : `select * from velora_capture_hold(${captureArgs(holdOf)})`;
  return [reserve, capture];
}

/**
 * `--prepared`: the two calls as prepared statements, parsed and planned once per session as
 * WalletService's named statements are (wallet/transfers/transfers.repository.ts); the capture's
 * prepared form takes the transfer id and finds the hold itself (EXECUTE takes no sub-select).
 */
const PREPARE = [
  `prepare velora_reserve(text, text, text, text, uuid, uuid, uuid, bigint, text, bigint, bigint, integer) as ` +
    `select status_code, response, outcome from velora_reserve_transfer($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
  `prepare velora_capture(text, text, text, text, uuid, bigint, jsonb) as ` +
    `select status_code, response, outcome from velora_capture_hold($1, $2, $3, ` +
    `(select h.id from holds h where h.transfer_id = $4 and h.kind = 'transfer'), $5, $6, $7)`,
  `prepare velora_reserve_capture(text, text, text, text, text, text, uuid, uuid, uuid, bigint, text, bigint, ` +
    `bigint, integer, jsonb) as select status_code, response, outcome from velora_reserve_capture_transfer(` +
    `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
];

/** The relay's claim and mark, as outbox.repository.ts runs them, until nothing is left. */
function relayStatements(rounds: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < rounds; i++) {
    out.push(
      `update outbox set claimed_until = now() + make_interval(secs => 60) where id in (select id from outbox ` +
        `where relayed_at is null and (claimed_until is null or claimed_until < now()) order by id limit 200 ` +
        `for update skip locked) returning *`,
      `update outbox set relayed_at = now(), claimed_until = null where relayed_at is null and claimed_until is not null`,
    );
  }
  return out;
}

/**
 * `--publish`: the event publisher's claim and settle (wallet/events/events.repository.ts) of the
 * pairs' outbox rows and `event_queue` rows, until nothing is left; the settle names the
 * claimed rows by their lease (single-user mode cannot feed the claim's ids back).
 */
function publishStatements(rounds: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < rounds; i++) {
    out.push(
      `update outbox set publish_claimed_until = now() + make_interval(secs => 30) where id in (select id from outbox ` +
        `where published_at is null and (publish_claimed_until is null or publish_claimed_until < now()) order by id ` +
        `limit 100 for update skip locked) returning id, event_id, collection, document, created_at`,
      `update event_queue set claimed_until = now() + make_interval(secs => 30) where id in (select id from event_queue ` +
        `where claimed_until is null or claimed_until < now() order by id limit 100 for update skip locked) ` +
        `returning id, source_id, document, created_at`,
      `begin`,
      `update outbox set published_at = now(), publish_claimed_until = null where published_at is null ` +
        `and publish_claimed_until is not null`,
      `delete from event_queue where claimed_until is not null`,
      `commit`,
    );
  }
  return out;
}

/** pgbench's tpcb-like script (pgbench.c) with its random draws made here, for scale `scale`. */
function tpcbStatements(scale: number): string[] {
  const draw = (n: number) => 1 + Math.floor(Math.random() * n);
  const [aid, tid, bid, delta] = [draw(100_000 * scale), draw(10 * scale), draw(scale), draw(10_001) - 5001];
  return [
    'BEGIN;',
    `UPDATE pgbench_accounts SET abalance = abalance + ${delta} WHERE aid = ${aid};`,
    `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`,
    `UPDATE pgbench_tellers SET tbalance = tbalance + ${delta} WHERE tid = ${tid};`,
    `UPDATE pgbench_branches SET bbalance = bbalance + ${delta} WHERE bid = ${bid};`,
    `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${tid}, ${bid}, ${aid}, ${delta}, CURRENT_TIMESTAMP);`,
    'END;',
  ];
}

const PGBENCH_SCALE = 8;

function randomPair(wallets: Wallet[]): [Wallet, Wallet] {
  const a = Math.floor(Math.random() * wallets.length);
  const b = (a + 1 + Math.floor(Math.random() * (wallets.length - 1))) % wallets.length;
  return [wallets[a]!, wallets[b]!];
}

async function seed(db: Kysely<Database>): Promise<Wallet[]> {
  const names = Object.keys(walletMigrations);
  const upto = args.upto ? names.indexOf(args.upto) : names.length - 1;
  if (upto < 0) throw new Error(`no migration named ${args.upto}`);
  await migrateToLatest(
    db,
    Object.fromEntries(names.slice(0, upto + 1).map((n) => [n, walletMigrations[n]!])),
  );
  if (EXTRA_SQL) await sql.raw(EXTRA_SQL).execute(db);
  const { rows: funding } = await sql<{ id: string }>`
    insert into wallets (id, kind, user_id, system_name, currency)
    values (gen_random_uuid(), 'system', null, 'funding', 'USD') returning id`.execute(db);
  const wallets: Wallet[] = [];
  for (let i = 0; i < WALLETS; i++) {
    const userId = randomUUID();
    const { rows } = await sql<{ id: string }>`
      insert into wallets (id, kind, user_id, system_name, currency)
      values (gen_random_uuid(), 'user', ${userId}::uuid, null, 'USD') returning id`.execute(db);
    const legs = JSON.stringify([
      { wallet_id: funding[0]!.id, amount: '-1000000000' },
      { wallet_id: rows[0]!.id, amount: '1000000000' },
    ]);
    await sql`select velora_post_journal('deposit', 'USD', ${`seed-${i}`}, null, null, null, ${legs}::jsonb)`.execute(
      db,
    );
    wallets.push({ id: rows[0]!.id, userId });
  }
  for (let i = 0; i < SEED; i++) {
    const [from, to] = randomPair(wallets);
    for (const statement of pairStatements(from, to, 100, false, false)) await sql.raw(statement).execute(db);
  }
  await createJournalSealer({ db, log: createLogger('callgrind', 'silent') }).sealAll();
  await sql`update outbox set relayed_at = now() where relayed_at is null`.execute(db);
  if (args.publish) {
    // The seed's events count as published, so the measured runs publish only their own.
    await sql`update outbox set published_at = now() where published_at is null`.execute(db);
    await sql`delete from event_queue`.execute(db);
  }
  return wallets;
}

function countInstructions(dataDir: string, statements: string[], outFile: string): number {
  const input = statements.join('\n') + '\n';
  const r = spawnSync(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      'valgrind',
      '--tool=callgrind',
      `--callgrind-out-file=${outFile}`,
      'postgres',
      '--single',
      '-D',
      dataDir,
      '-c',
      'fsync=off',
      DATABASE,
    ],
    { input, encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  if (r.status !== 0) throw new Error(`callgrind run failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const errors = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /ERROR:/.test(l));
  if (errors.length > 0)
    throw new Error(`statements failed under --single: ${errors.slice(0, 3).join(' | ')}`);
  const refused = (r.stdout.match(/status_code = "\d+"/g) ?? []).filter((s) => !/"(200|201)"$/.test(s));
  if (refused.length > 0) throw new Error(`a pair was refused: ${refused.slice(0, 3).join(', ')}`);
  const totals = /^(?:totals|summary): (\d+)/m.exec(readFileSync(outFile, 'utf8'));
  if (!totals) throw new Error(`no totals in ${outFile}`);
  return Number(totals[1]);
}

async function main(): Promise<void> {
  const cluster = startPrivateCluster('velora-callgrind-', '-c fsync=off');
  const { dir, data, port } = cluster;
  try {
    asPostgres('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', DATABASE]);
    let units: (n: number) => string[];
    if (args.pgbench) {
      const conn = ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'];
      asPostgres('pgbench', [...conn, '-i', '-q', '-s', String(PGBENCH_SCALE), DATABASE]);
      asPostgres('pgbench', [...conn, '-n', '-t', String(SEED), DATABASE]);
      asPostgres('psql', [...conn, '-qc', 'vacuum analyze', DATABASE]);
      units = (n) => Array.from({ length: n }, () => tpcbStatements(PGBENCH_SCALE)).flat();
    } else {
      const { db } = createDb<Database>(`postgres://postgres@127.0.0.1:${port}/${DATABASE}`, {
        max: 2,
        name: 'callgrind-seed',
      });
      let wallets: Wallet[];
      try {
        wallets = await seed(db);
        await sql`vacuum analyze`.execute(db);
      } finally {
        await db.destroy();
      }
      const relay = (n: number) => [
        ...(args.relay ? relayStatements(Math.ceil((n * 8) / 200) + 1) : []),
        ...(args.publish ? publishStatements(Math.ceil((n * 2) / 100) + 1) : []),
      ];
      units = (n) => [
        ...(args.prepared ? PREPARE : []),
        ...Array.from({ length: n }, () => pairStatements(...randomPair(wallets), 100)).flat(),
        ...relay(n),
      ];
    }
    asPostgres('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);

    const counts: number[] = [];
    for (const [i, n] of [1, PAIRS + 1].entries()) {
      const copy = path.join(dir, `run-${i}`);
      asPostgres('cp', ['-a', data, copy]);
      counts.push(countInstructions(copy, units(n), path.join(dir, `callgrind.out.${i}`)));
    }
    const perPair = (counts[1]! - counts[0]!) / PAIRS;
    const report = {
      what: args.pgbench
        ? `pgbench tpcb-like, scale ${PGBENCH_SCALE}`
        : args['one-call']
          ? 'reserve capturing in one call (0046)'
          : 'reserve + capture',
      upto: args.pgbench ? null : (args.upto ?? Object.keys(walletMigrations).at(-1)),
      seed_pairs: SEED,
      wallets: WALLETS,
      measured_pairs: PAIRS,
      relay: args.relay,
      publish: args.publish,
      prepared: args.prepared,
      variant: args.variant ?? (args.sql ? 'custom' : null),
      sql: EXTRA_SQL ?? null,
      instructions: counts,
      per_pair_millions: Number((perPair / 1e6).toFixed(3)),
      profile: path.join(dir, 'callgrind.out.1'),
    };
    writeFileSync(path.join(dir, 'report.json'), JSON.stringify(report, null, 2));
    console.log(JSON.stringify(report));
  } finally {
    cluster.discard(args.keep);
  }
}

await main();
