/**
 * Reconciliation at scale (issue 11, item 13; docs/benchmarks.md, "Reconciliation"):
 *
 *   node --import tsx bench/reconciliation/reconciliation-bench.ts [--postings 10000000] [--transfers 1000]
 *
 * Builds a ledger of `--postings` postings in a scratch wallet database migrated like
 * velora_wallet (the test stack's PostgreSQL and MongoDB wire server; run it under vitest's
 * global setup environment or with TEST_WALLET_DATABASE_URL / TEST_MONGO_URL / TEST_MONGO_DB
 * set), directly with `generate_series`: balanced two-leg transactions with running balances and
 * a hash chain computed exactly as the sealer computes it (the full run below checks every hash).
 * The bulk moves money between system accounts (shards the service never uses), so no MongoDB
 * history document is expected for it (see the doc for why). Then it times, as separate
 * processes, the operator command's full run (which stores the first checkpoint), 1,000 transfers
 * through WalletService (reserve + capture, sealed and relayed), and an incremental run; for each
 * run: wall time, the command's CPU time and peak RSS (`/usr/bin/time`), and the CPU time of its
 * PostgreSQL backends (read from /proc while it runs).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createWalletHarness } from '../../wallet/testing/wallet-harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLK_TCK = 100;

const { values } = parseArgs({
  options: {
    postings: { type: 'string', default: '10000000' },
    transfers: { type: 'string', default: '1000' },
    accounts: { type: 'string', default: '90000' },
    /** Suffix of the scratch database (`velora_wallet_test_<name>`), recreated empty. */
    name: { type: 'string', default: 'recon_bench' },
  },
});
const POSTINGS = Number(values.postings);
const TRANSFERS = Number(values.transfers);
const ACCOUNTS = Number(values.accounts);

process.env.TEST_WALLET_DATABASE_URL ??= 'postgres://velora_wallet@127.0.0.1:5432/velora_wallet_test';
process.env.TEST_MONGO_URL ??= 'mongodb://127.0.0.1:27018/';
process.env.TEST_MONGO_DB ??= 'velora_wallet_test';

function log(line: string) {
  process.stderr.write(`[${new Date().toISOString()}] ${line}\n`);
}

/** Writes the bulk ledger as the superuser (triggers off: the rows are made consistent by construction). */
async function generate(database: string): Promise<void> {
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` });
  await client.connect();
  const q = async (label: string, text: string) => {
    const t0 = performance.now();
    await client.query(text);
    log(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  const transactions = Math.floor(POSTINGS / 2);
  try {
    await q(
      'settings',
      `set session_replication_role = replica; set work_mem = '256MB'; set statement_timeout = 0;
       set maintenance_work_mem = '512MB'; set synchronous_commit = off`,
    );
    await q(
      'accounts',
      `create unlogged table bench_accounts as
         select i, gen_random_uuid() as id from generate_series(0, ${ACCOUNTS - 1}) i;
       create unique index on bench_accounts (i);
       insert into wallets (id, kind, system_name, currency, shard)
         select id, 'system', (array['funding', 'settlement', 'fees'])[1 + i % 3], 'USD', 16 + i / 3
         from bench_accounts`,
    );
    // Unique constraints and indexes of postings and seals are built once after the load (a sort)
    // instead of row by row; nothing references these two tables.
    const { rows: deferred } = await client.query<{ restore: string; drop: string }>(`
      select format('alter table %s add constraint %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) as restore,
        format('alter table %s drop constraint %I', conrelid::regclass, conname) as drop
      from pg_constraint where conrelid in ('postings'::regclass, 'journal_seals'::regclass) and contype in ('p', 'u')
      union all
      select i.indexdef, format('drop index %I', i.indexname)
      from pg_indexes i where i.tablename in ('postings', 'journal_seals')
        and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`);
    await q('drop indexes', deferred.map((d) => d.drop).join(';\n'));
    // Transaction i moves 1..997 from account i mod A to another account (never itself).
    await q(
      'transactions',
      `create unlogged table bench_tx as
         select g.i, gen_random_uuid() as id, gen_random_uuid() as pid0, gen_random_uuid() as pid1,
           timestamptz '2026-06-01 00:00:00+00' + g.i * interval '1 millisecond' as created_at,
           a.id as src, b.id as dst, (1 + g.i % 997)::bigint as amount
         from generate_series(1, ${transactions}) g(i)
         join bench_accounts a on a.i = g.i % ${ACCOUNTS}
         join bench_accounts b on b.i = (g.i + 1 + (g.i / ${ACCOUNTS}) % ${ACCOUNTS - 1}) % ${ACCOUNTS};
       create unique index on bench_tx (i);
       insert into journal_transactions (id, kind, currency, reference, transfer_id, hold_id, reverses_id, created_at)
         select id, 'transfer', 'USD', 'bench:' || i, null, null, null, created_at from bench_tx order by i`,
    );
    await q(
      'postings',
      `insert into postings (id, transaction_id, position, wallet_id, currency, amount, balance_after, created_at)
         select id, transaction_id, position, wallet_id, 'USD', amount,
           sum(amount) over (partition by wallet_id order by i, position), created_at
         from (
           select t.i, l.position, t.id as transaction_id, t.created_at,
             case l.position when 0 then t.pid0 else t.pid1 end as id,
             case l.position when 0 then t.src else t.dst end as wallet_id,
             case l.position when 0 then -t.amount else t.amount end as amount
           from bench_tx t cross join (values (0::smallint), (1::smallint)) l(position)) p
         order by i, position`,
    );
    await q(
      'balances',
      `update wallets w set posted = s.total
         from (select wallet_id, sum(amount) as total from postings group by wallet_id) s
         where w.id = s.wallet_id`,
    );
    // The chain, in order: journalHash's canonical JSON (wallet/ledger/journal-hash.ts) built as text.
    await q(
      'seals',
      `do $$
       declare
         r record;
         h text := repeat('0', 64);
         n bigint := 0;
         nh text;
         k integer := 0;
         seqs bigint[] := '{}';
         ids uuid[] := '{}';
         prevs text[] := '{}';
         hashes text[] := '{}';
       begin
         for r in select * from bench_tx order by i loop
           n := n + 1;
           k := k + 1;
           nh := encode(sha256(convert_to(
             '["velora-journal-v1","' || n || '","' || r.id || '","transfer","USD","bench:' || r.i
             || '",null,null,null,"' || velora_iso(r.created_at) || '","' || h || '",[[0,"' || r.pid0
             || '","' || r.src || '","-' || r.amount || '"],[1,"' || r.pid1 || '","' || r.dst || '","'
             || r.amount || '"]]]', 'UTF8')), 'hex');
           seqs[k] := n;
           ids[k] := r.id;
           prevs[k] := h;
           hashes[k] := nh;
           h := nh;
           if k = 10000 then
             insert into journal_seals (seq, transaction_id, prev_hash, hash) select * from unnest(seqs, ids, prevs, hashes);
             k := 0;
           end if;
         end loop;
         insert into journal_seals (seq, transaction_id, prev_hash, hash)
           select * from unnest(seqs[1:k], ids[1:k], prevs[1:k], hashes[1:k]);
       end $$`,
    );
    await q('restore indexes', deferred.map((d) => d.restore).join(';\n'));
    await q('cleanup', `drop table bench_tx; drop table bench_accounts`);
    await q('vacuum', `vacuum analyze`);
  } finally {
    await client.end();
  }
}

function ticksOf(pid: number): number | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

interface RunResult {
  exitCode: number | null;
  wallSeconds: number;
  commandCpuSeconds: number;
  commandMaxRssMb: number;
  postgresCpuSeconds: number;
  report: {
    ok: boolean;
    checked: Record<string, number>;
    range: unknown;
    checkpoint: unknown;
    discrepancies: unknown[];
  };
}

/** Runs the operator command as a separate process and measures it and its PostgreSQL backends. */
async function runCommand(env: Record<string, string>, args: string[], database: string): Promise<RunResult> {
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` });
  await admin.connect();
  const backends = new Map<number, number>();
  const t0 = performance.now();
  const child = spawn(
    '/usr/bin/time',
    [
      '-f',
      'TIME %U %S %M',
      process.execPath,
      '--import',
      'tsx',
      'wallet/reconciliation/reconcile.command.ts',
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => ((done = true), resolve(code))),
  );
  while (!done) {
    const { rows } = await admin.query<{ pid: number }>(
      `select pid from pg_stat_activity
        where application_name = 'velora-wallet-reconcile' and datname = current_database()`,
    );
    for (const { pid } of rows) {
      const t = ticksOf(pid);
      if (t !== undefined) backends.set(pid, t);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const exitCode = await exited;
  const wallSeconds = (performance.now() - t0) / 1000;
  await admin.end();
  const m = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(err);
  if (!m) throw new Error(`no /usr/bin/time line in: ${err.slice(-2000)}`);
  const report = JSON.parse(out) as RunResult['report'];
  return {
    exitCode,
    wallSeconds,
    commandCpuSeconds: Number(m[1]) + Number(m[2]),
    commandMaxRssMb: Number(m[3]) / 1024,
    postgresCpuSeconds: [...backends.values()].reduce((a, b) => a + b, 0) / CLK_TCK,
    report,
  };
}

function summary(r: RunResult) {
  const { discrepancies, ...report } = r.report;
  return { ...r, report: { ...report, discrepancies: discrepancies.length } };
}

/**
 * Funds 20 user wallets and moves money between them: reserve + capture, as the orchestrator
 * does. With a token issued now (the harness's own may have expired during the full run).
 */
async function transfers(h: Awaited<ReturnType<typeof createWalletHarness>>): Promise<void> {
  const token = await h.issuer.serviceToken('wallet:read wallet:write wallet:admin');
  const call = async (path: string, body: unknown, expected: number) => {
    const res = await h.call('POST', path, { body, key: randomUUID(), token });
    if (res.status !== expected)
      throw new Error(`${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as Record<string, unknown>;
  };
  const users: { id: string; user_id: string }[] = [];
  for (let i = 0; i < 20; i++) {
    const user_id = randomUUID();
    const wallet = await call('/internal/wallets', { user_id, currency: 'USD' }, 201);
    const id = String(wallet.id);
    await call(
      `/internal/wallets/${id}/deposits`,
      { amount: '10000000', currency: 'USD', reference: 'bench' },
      201,
    );
    users.push({ id, user_id });
  }
  for (let i = 0; i < TRANSFERS; i++) {
    const from = users[i % users.length]!;
    const to = users[(i + 1 + (i % 7)) % users.length]!;
    const reserved = await call(
      `/internal/transfers/${randomUUID()}/reserve`,
      {
        user_id: from.user_id,
        from_wallet_id: from.id,
        to_wallet_id: to.id,
        amount: String(1 + (i % 500)),
        currency: 'USD',
        limits: { per_transfer: '1000000000000', daily: '1000000000000' },
        hold_ttl_seconds: 900,
      },
      201,
    );
    const hold = reserved.hold as { id: string };
    await call(`/internal/holds/${hold.id}/capture`, { to_wallet_id: to.id }, 200);
  }
}

async function main() {
  const h = await createWalletHarness({ isolated: values.name, poolMax: 4 });
  const database = new URL(h.env.WALLET_DATABASE_URL).pathname.slice(1);
  try {
    log(`generating ${POSTINGS} postings over ${ACCOUNTS} accounts in ${database}`);
    await generate(database);
    log('full run');
    const fullRun = await runCommand(h.env, [], database);
    log(JSON.stringify(summary(fullRun)));

    log(`${TRANSFERS} transfers through WalletService`);
    await transfers(h);
    await h.sealer.sealAll();
    await h.relay.drainAll();
    log('incremental run');
    const incrementalRun = await runCommand(h.env, ['--incremental'], database);
    log(JSON.stringify(summary(incrementalRun)));
    process.stdout.write(
      `${JSON.stringify({ postings: POSTINGS, accounts: ACCOUNTS, transfers: TRANSFERS, full: summary(fullRun), incremental: summary(incrementalRun) }, null, 2)}\n`,
    );
  } finally {
    await h.close();
  }
}

await main();
