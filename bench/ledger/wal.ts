/**
 * What a reserve + capture pair costs PostgreSQL beyond instructions: WAL, commits, MultiXacts,
 * buffers dirtied, dead tuples and what the backends wait on, per pair, for the schema at head
 * and with suspects reverted, next to pgbench's TPC-B-like transaction on the same cluster.
 * Counts of WAL, commits and MultiXacts do not depend on how loaded the machine is; the wall-clock
 * pairs/s and tps are taken back to back, alternating, so both see the same load.
 *
 *   node --import tsx bench/ledger/wal.ts [--variants head,fk-single,...] [--pairs 2000]
 *     [--clients 8] [--wallets 500] [--rounds 2] [--seconds 8] [--skip-counts]
 *     [--sql name='<statements>'] [--keep]
 *
 * A private cluster (initdb in a temporary folder, its own port, fsync on, the machine's
 * PostgreSQL settings otherwise, pg_stat_statements and pg_walinspect loaded) holds one database
 * per variant, migrated to head, then changed by the variant's SQL (`VARIANTS`), seeded with
 * `--wallets` funded wallets, and one pgbench database (scale = clients). For each variant:
 *
 * 1. Counts: `--pairs` pairs by `--clients` closed-loop clients through `ledger-ops.ts` (the
 *    bench's driver, the journal sealer running), between two CHECKPOINTs, so every figure is
 *    this work's alone: WAL bytes, records and full-page images from the WAL itself
 *    (pg_walinspect, by record type), commits (pg_stat_database), WAL flushes (pg_stat_wal),
 *    MultiXact ids consumed (pg_control_checkpoint), blocks dirtied (pg_stat_statements), dead
 *    tuples left (pg_stat_user_tables), statements planned again on most calls, the CPU of
 *    every process of the cluster, and every 10 ms what each client backend waits on
 *    (pg_stat_activity). The same for `--pairs` pgbench transactions. `--skip-counts` skips it.
 * 2. Rates: `--rounds` alternations of `--seconds` of pairs then `--seconds` of pgbench (same
 *    clients, autovacuum off, each database vacuumed before its turn); per round the ratio
 *    pairs/s ÷ tps and the ratio of the cluster's CPU per pair to its CPU per TPC-B
 *    transaction, and their medians. JSON on stdout, progress on stderr.
 *
 * Variants are in `wal-variants.ts`; `--sql name='<statements>'` adds one (a candidate change).
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { createDb } from '../../lib/db.js';
import type { Database } from '../../wallet/database.js';
import { migrateWalletDb } from '../../wallet/migrations/migrate-wallet-db.js';
import { createLedgerOps, type BenchWallet, type LedgerOps } from './ledger-ops.js';
import { asPostgres, startPrivateCluster } from './private-cluster.js';
import { VARIANTS } from './wal-variants.js';

const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
    sql: { type: 'string', multiple: true, default: [] },
    pairs: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '8' },
    wallets: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '8' },
    'skip-counts': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const PAIRS = Number(args.pairs);
const CLIENTS = Number(args.clients);
const WALLETS = Number(args.wallets);
const ROUNDS = Number(args.rounds);
const SECONDS = Number(args.seconds);

/** `--sql name=statements` adds a variant (e.g. a candidate fix) without editing this file. */
for (const extra of args.sql ?? []) {
  const at = extra.indexOf('=');
  VARIANTS[extra.slice(0, at)] = extra.slice(at + 1);
}

/** CPU ticks of the whole cluster: the postmaster, its live children and those it reaped. */
let postmasterPid = 0;
function clusterTicks(): number {
  const stat = (pid: number) => {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  };
  const own = stat(postmasterPid);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = stat(Number(entry));
      if (Number(f[1]) === postmasterPid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile: its ticks are in the postmaster's reaped children
    }
  }
  return ticks;
}
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Snapshot {
  lsn: string;
  commits: number;
  walSync: number;
  walWrite: number;
  nextMulti: number;
  tables: Map<string, { dead: number; upd: number; hot: number; ins: number }>;
}

async function snapshot(admin: Kysely<Database>, dbName: string): Promise<Snapshot> {
  await sql`checkpoint`.execute(admin);
  await sql`select pg_stat_force_next_flush()`.execute(admin);
  const { rows } = await sql<{
    lsn: string;
    commits: string;
    wal_sync: string;
    wal_write: string;
    next_multi: string;
  }>`select pg_current_wal_insert_lsn()::text as lsn,
      (select xact_commit from pg_stat_database where datname = ${dbName}) as commits,
      w.wal_sync, w.wal_write, (select next_multixact_id from pg_control_checkpoint()) as next_multi
    from pg_stat_wal w`.execute(admin);
  const r = rows[0]!;
  return {
    lsn: r.lsn,
    commits: Number(r.commits),
    walSync: Number(r.wal_sync),
    walWrite: Number(r.wal_write),
    nextMulti: Number(r.next_multi),
    tables: new Map(),
  };
}

async function tableStats(db: Kysely<Database>): Promise<Snapshot['tables']> {
  const { rows } = await sql<{ relname: string; dead: string; upd: string; hot: string; ins: string }>`
    select relname, n_dead_tup as dead, n_tup_upd as upd, n_tup_hot_upd as hot, n_tup_ins as ins
    from pg_stat_user_tables`.execute(db);
  return new Map(
    rows.map((r) => [
      r.relname,
      { dead: Number(r.dead), upd: Number(r.upd), hot: Number(r.hot), ins: Number(r.ins) },
    ]),
  );
}

/**
 * What the client backends of `dbName` wait on, sampled every 10 ms until `stop` resolves, on
 * its own connection, whose CPU `stop` reports so that it can be left out of the cluster's.
 */
async function sampleWaits(
  url: string,
  dbName: string,
): Promise<{ stop(): Promise<{ waits: Record<string, number>; ticks: number }> }> {
  const { db } = createDb<Database>(url, { max: 1, name: 'wal-sampler' });
  const { rows: me } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  const pidTicks = () => {
    const f = readFileSync(`/proc/${me[0]!.pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  };
  const ticks0 = pidTicks();
  const counts: Record<string, number> = {};
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await sql<{ w: string }>`
        select coalesce(wait_event_type || ':' || wait_event, 'CPU') as w from pg_stat_activity
        where datname = ${dbName} and backend_type = 'client backend' and pid <> pg_backend_pid()
          and state <> 'idle'`.execute(db);
      counts['samples'] = (counts['samples'] ?? 0) + 1;
      for (const r of rows) counts[r.w] = (counts[r.w] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const ticks = pidTicks() - ticks0;
      await db.destroy();
      return { waits: counts, ticks };
    },
  };
}

interface Counts {
  units: number;
  perSecond: number;
  /** CPU of every process of the cluster (the sampler's backend included), ms per unit. */
  postgresCpuMs: number;
  /** CPU of this process (the driver; pgbench's client is apart), ms per unit. */
  driverCpuMs: number;
  walBytes: number;
  walRecords: number;
  fpi: number;
  fpiBytes: number;
  commits: number;
  walFlushes: number;
  walWrites: number;
  multixacts: number;
  blocksDirtied: number;
  blocksWritten: number;
  deadTuples: Record<string, number>;
  nonHotUpdates: Record<string, number>;
  inserts: Record<string, number>;
  replanned: string[];
  waits: Record<string, number>;
  topRecords: string[];
}

async function measure(
  admin: Kysely<Database>,
  url: string,
  dbName: string,
  db: Kysely<Database> | undefined,
  units: number,
  work: () => Promise<void>,
): Promise<Counts> {
  await sql`select pg_stat_statements_reset()`.execute(admin);
  const tablesBefore: Snapshot['tables'] = db ? await tableStats(db) : new Map();
  const before = await snapshot(admin, dbName);
  const sampler = await sampleWaits(url, dbName);
  const t0 = performance.now();
  const ticks0 = clusterTicks();
  const cpu0 = process.cpuUsage();
  await work();
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  const { waits: waited, ticks: samplerTicks } = await sampler.stop();
  const ticks = clusterTicks() - ticks0 - samplerTicks;
  // Backends flush their statistics at most once a second: wait for the last ones.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const after = await snapshot(admin, dbName);
  const tablesAfter: Snapshot['tables'] = db ? await tableStats(db) : new Map();
  const { rows: wal } = await sql<{
    record_type: string;
    count: string;
    bytes: string;
    fpi_count: string;
    fpi_size: string;
  }>`
    select resource_manager || '/' || record_type as record_type, count(*) as count, sum(record_length) as bytes,
      count(*) filter (where fpi_length > 0) as fpi_count, sum(fpi_length) as fpi_size
    from pg_get_wal_records_info(${before.lsn}::pg_lsn, ${after.lsn}::pg_lsn) group by 1`.execute(admin);
  const { rows: statements } = await sql<{ dirtied: string; written: string }>`
    select coalesce(sum(shared_blks_dirtied), 0) as dirtied, coalesce(sum(shared_blks_written), 0) as written
    from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = ${dbName}`.execute(
    admin,
  );
  // Statements planned again on most executions (a plpgsql statement whose generic plan loses).
  const { rows: planned } = await sql<{ query: string; plans: string; calls: string }>`
    select left(query, 200) as query, plans, calls
    from pg_stat_statements s join pg_database d on d.oid = s.dbid
    where d.datname = ${dbName} and plans > calls / 2 and calls >= ${units}
    order by plans desc limit 8`.execute(admin);
  const per = (n: number) => Number((n / units).toFixed(3));
  const walBytes = wal.reduce((s, r) => s + Number(r.bytes), 0);
  const samples = waited['samples'] ?? 1;
  type TableCounts = { dead: number; upd: number; hot: number; ins: number };
  const diff = (pick: (t: TableCounts) => number): Record<string, number> =>
    Object.fromEntries(
      [...tablesAfter.entries()]
        .map(([name, t]): [string, number] => [
          name,
          per(pick(t) - pick(tablesBefore.get(name) ?? { dead: 0, upd: 0, hot: 0, ins: 0 })),
        ])
        .filter(([, n]) => n > 0),
    );
  return {
    units,
    perSecond: Number((units / seconds).toFixed(1)),
    postgresCpuMs: Number(((ticks * 1000) / CLK_TCK / units).toFixed(3)),
    driverCpuMs: Number(((cpu.user + cpu.system) / 1000 / units).toFixed(3)),
    walBytes: Math.round(walBytes / units),
    walRecords: per(wal.reduce((s, r) => s + Number(r.count), 0)),
    fpi: per(wal.reduce((s, r) => s + Number(r.fpi_count), 0)),
    fpiBytes: Math.round(wal.reduce((s, r) => s + Number(r.fpi_size), 0) / units),
    commits: per(after.commits - before.commits),
    walFlushes: per(after.walSync - before.walSync),
    walWrites: per(after.walWrite - before.walWrite),
    multixacts: per(after.nextMulti - before.nextMulti),
    blocksDirtied: per(Number(statements[0]!.dirtied)),
    blocksWritten: per(Number(statements[0]!.written)),
    deadTuples: diff((t) => t.dead),
    nonHotUpdates: diff((t) => t.upd - t.hot),
    inserts: diff((t) => t.ins),
    replanned: planned.map(
      (r) =>
        `${per(Number(r.plans))} plans, ${per(Number(r.calls))} calls: ${r.query.replace(/\s+/g, ' ').slice(0, 90)}`,
    ),
    waits: Object.fromEntries(
      Object.entries(waited)
        .filter(([k]) => k !== 'samples')
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => [k, Number((n / samples).toFixed(2))]),
    ),
    topRecords: wal
      .map((r) => ({ t: r.record_type, n: Number(r.count), b: Number(r.bytes) }))
      .sort((a, b) => b.b - a.b)
      .slice(0, 8)
      .map((r) => `${r.t} ${per(r.n)}x ${Math.round(r.b / units)}B`),
  };
}

/** Closed loop: `clients` workers until `units` are done or `seconds` pass. */
async function pairs(
  ops: LedgerOps,
  wallets: BenchWallet[],
  units: number,
  seconds: number,
): Promise<number> {
  let done = 0;
  let started = 0;
  const end = performance.now() + seconds * 1000;
  const errors: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (started < units && performance.now() < end) {
        started++;
        const a = Math.floor(Math.random() * wallets.length);
        const b = (a + 1 + Math.floor(Math.random() * (wallets.length - 1))) % wallets.length;
        const failed = await ops.reserveAndCapture(wallets[a]!, wallets[b]!, 100n);
        if (failed) errors[failed] = (errors[failed] ?? 0) + 1;
        else done++;
      }
    }),
  );
  if (Object.keys(errors).length > 0) throw new Error(`pairs refused: ${JSON.stringify(errors)}`);
  return done;
}

async function pgbench(
  conn: string[],
  dbName: string,
  limit: { transactions?: number; seconds?: number },
): Promise<{ tps: number; count: number }> {
  const { stdout: out } = await run('runuser', [
    '-u',
    'postgres',
    '--',
    'pgbench',
    ...conn,
    '-n',
    '-b',
    'tpcb-like',
    '-c',
    String(CLIENTS),
    '-j',
    String(Math.min(2, CLIENTS)),
    ...(limit.transactions
      ? ['-t', String(Math.ceil(limit.transactions / CLIENTS))]
      : ['-T', String(limit.seconds)]),
    dbName,
  ]);
  return {
    tps: Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? 0),
    count: Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

async function main(): Promise<void> {
  const cluster = startPrivateCluster(
    'velora-wal-',
    '-c shared_preload_libraries=pg_stat_statements ' +
      '-c max_wal_size=4GB -c wal_keep_size=16GB -c checkpoint_timeout=30min -c autovacuum_naptime=60s -c track_wal_io_timing=on ' +
      '-c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on',
  );
  postmasterPid = cluster.postmasterPid;
  const { conn, url } = cluster;
  const { db: admin } = createDb<Database>(url('postgres'), { max: 2, name: 'wal-admin' });
  const report: Record<string, unknown> = { pairs: PAIRS, clients: CLIENTS, wallets: WALLETS };
  try {
    await sql`create extension pg_stat_statements`.execute(admin);
    await sql`create extension pg_walinspect`.execute(admin);
    asPostgres('createdb', [...conn, 'pgb']);
    asPostgres('pgbench', [...conn, '-i', '-q', '-s', String(CLIENTS), 'pgb']);
    const prepared: Record<
      string,
      { ops: LedgerOps; wallets: BenchWallet[]; db: Kysely<Database>; end(): Promise<void> }
    > = {};
    for (const name of args.variants.split(',')) {
      if (!(name in VARIANTS)) throw new Error(`no variant ${name}: ${Object.keys(VARIANTS).join(', ')}`);
      const dbName = `v_${name.replaceAll('-', '_')}`;
      await sql.raw(`create database ${dbName}`).execute(admin);
      const { db, pool } = createDb<Database>(url(dbName), { max: CLIENTS + 2, name: `wal-${name}` });
      await migrateWalletDb(db);
      if (VARIANTS[name]) await sql.raw(VARIANTS[name]).execute(db);
      const ops = await createLedgerOps(db);
      const wallets = await ops.fundedWallets(WALLETS, 1_000_000_000n);
      await pairs(ops, wallets, Math.min(500, PAIRS), 60); // warm-up: plans cached, pages touched
      await sql`vacuum analyze`.execute(db);
      prepared[name] = {
        ops,
        wallets,
        db,
        async end() {
          await ops.stop();
          await db.destroy();
          await pool.end().catch(() => undefined);
        },
      };
      if (args['skip-counts']) continue;
      const counts = await measure(admin, url(dbName), dbName, db, PAIRS, async () => {
        await pairs(ops, wallets, PAIRS, 600);
        await ops.stop(); // the sealer's last batch belongs to these pairs
        prepared[name]!.ops = await createLedgerOps(db);
      });
      report[name] = counts;
      console.error(`${name}: ${JSON.stringify(counts)}`);
    }
    await pgbench(conn, 'pgb', { transactions: 500 });
    await sql`vacuum analyze`.execute(admin);
    if (!args['skip-counts'])
      report['pgbench'] = await measure(admin, url('pgb'), 'pgb', undefined, PAIRS, async () => {
        await pgbench(conn, 'pgb', { transactions: PAIRS });
      });
    console.error(`pgbench: ${JSON.stringify(report['pgbench'])}`);

    // Alternations: each variant's pairs, then pgbench, for the same time; rate and cluster CPU per unit.
    // Autovacuum off, each database vacuumed before its turn: the cluster's CPU is the turn's own.
    await sql`alter system set autovacuum = off`.execute(admin);
    await sql`select pg_reload_conf()`.execute(admin);
    const rates: Record<
      string,
      { ratio: number[]; cpuRatio: number[]; pairCpuMs: number[]; txCpuMs: number[] }
    > = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, v] of Object.entries(prepared)) {
        await sql`vacuum`.execute(v.db);
        let ticks0 = clusterTicks();
        let t0 = performance.now();
        const done = await pairs(v.ops, v.wallets, Number.MAX_SAFE_INTEGER, SECONDS);
        const pps = done / ((performance.now() - t0) / 1000);
        const pairCpuMs = ((clusterTicks() - ticks0) * 1000) / CLK_TCK / done;
        asPostgres('vacuumdb', [...conn, '-q', 'pgb']);
        ticks0 = clusterTicks();
        t0 = performance.now();
        const bench = await pgbench(conn, 'pgb', { seconds: SECONDS });
        const txCpuMs = ((clusterTicks() - ticks0) * 1000) / CLK_TCK / bench.count;
        const r = (rates[name] ??= { ratio: [], cpuRatio: [], pairCpuMs: [], txCpuMs: [] });
        r.ratio.push(Number((pps / bench.tps).toFixed(3)));
        r.cpuRatio.push(Number((pairCpuMs / txCpuMs).toFixed(3)));
        r.pairCpuMs.push(Number(pairCpuMs.toFixed(3)));
        r.txCpuMs.push(Number(txCpuMs.toFixed(3)));
        console.error(
          `round ${round + 1} ${name}: ${Math.round(pps)} pairs/s (${pairCpuMs.toFixed(2)} ms PostgreSQL CPU each), ` +
            `pgbench ${Math.round(bench.tps)} tps (${txCpuMs.toFixed(2)} ms each)`,
        );
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    report['rates'] = Object.fromEntries(
      Object.entries(rates).map(([name, r]) => [
        name,
        { ...r, median_ratio: median(r.ratio), median_cpu_ratio: median(r.cpuRatio) },
      ]),
    );
    for (const v of Object.values(prepared)) await v.end();
    console.log(JSON.stringify(report, null, 1));
  } finally {
    await admin.destroy().catch(() => undefined);
    cluster.discard(args.keep);
  }
}

await main();
