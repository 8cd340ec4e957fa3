/**
 * `ledger`: the reserve and capture transactions driven directly against a wallet database
 * (a scratch copy of the schema, migrated like velora_wallet, on the same PostgreSQL), next to
 * pgbench's built-in TPC-B-like script in another scratch database. Both are closed-loop and
 * unthrottled with the same number of clients: this measures capacity, not latency under a
 * given load, and the ratio of the two says how far the ledger is from what this PostgreSQL
 * does for a textbook debit/credit transaction.
 *
 * Each reserve and capture runs exactly what WalletService runs for one request: the
 * idempotency record and the hold service's work, in one transaction (`ledger-ops.ts`). The
 * one-call form (migration 0046, a transfer without step-up) runs next, the same clients and
 * time: one call and one transaction per transfer.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { createDb } from '../../lib/db.js';
import { ensureDatabase } from '../../scripts/stack/infrastructure.js';
import { PG_HOST, PG_PORT, pgUrl } from '../../scripts/stack/profile.js';
import type { Database } from '../../wallet/database.js';
import { migrateWalletDb } from '../../wallet/migrations/migrate-wallet-db.js';
import { startCpuMeter, type CpuReport, type CpuSources } from '../cpu.js';
import { percentile } from '../stats.js';
import { createLedgerOps } from './ledger-ops.js';

const run = promisify(execFile);

export const LEDGER_DATABASE = 'velora_bench_wallet';
export const PGBENCH_DATABASE = 'velora_bench_pgbench';

export interface ClosedLoopResult {
  clients: number;
  seconds: number;
  /** Completed units per second (reserve+capture pairs, or pgbench transactions). */
  perSecond: number;
  p50: number;
  p99: number;
  errors: Record<string, number>;
  cpu: CpuReport;
}

export interface LedgerResult {
  name: 'ledger';
  what: string;
  ledger: ClosedLoopResult & { wallets: number; driver: string };
  pgbench: ClosedLoopResult & { scale: number };
  /** Reserve+capture pairs per second ÷ pgbench TPC-B transactions per second. */
  ratio: number;
  /** The same transfers as one call each (`velora_reserve_capture_transfer`, migration 0046). */
  oneCall: ClosedLoopResult & { wallets: number; driver: string };
  /** One-call transfers per second ÷ pgbench TPC-B transactions per second. */
  oneCallRatio: number;
}

export async function runLedgerScenario(
  options: { clients: number; seconds: number; wallets: number },
  cpuSources: CpuSources,
  log: (line: string) => void,
): Promise<LedgerResult> {
  log(
    `ledger: reserve+capture pairs against ${LEDGER_DATABASE}, then pgbench tpcb-like, ${options.clients} clients each`,
  );
  const ledger = await runLedgerPairs(options, cpuSources);
  log(
    `  reserve+capture  ${ledger.perSecond} pairs/s  p50 ${ledger.p50} ms  p99 ${ledger.p99} ms  (${ledger.driver})`,
  );
  const oneCall = await runLedgerPairs(options, cpuSources, 'one-call');
  log(
    `  reserve+capture in one call  ${oneCall.perSecond} transfers/s  p50 ${oneCall.p50} ms  p99 ${oneCall.p99} ms`,
  );
  const pgbench = await runPgbench(options, cpuSources);
  log(`  pgbench tpcb     ${pgbench.perSecond} tps  p50 ${pgbench.p50} ms  p99 ${pgbench.p99} ms`);
  return {
    name: 'ledger',
    what: 'reserve+capture pairs, and the one-call form, (closed loop, unthrottled) vs pgbench tpcb-like, same clients, same PostgreSQL',
    ledger,
    pgbench,
    ratio: Number((ledger.perSecond / pgbench.perSecond).toFixed(3)),
    oneCall,
    oneCallRatio: Number((oneCall.perSecond / pgbench.perSecond).toFixed(3)),
  };
}

async function runLedgerPairs(
  options: { clients: number; seconds: number; wallets: number },
  cpuSources: CpuSources,
  form: 'pair' | 'one-call' = 'pair',
): Promise<LedgerResult['ledger']> {
  await ensureDatabase('velora_wallet', LEDGER_DATABASE, { fresh: true });
  const { db, pool } = createDb<Database>(pgUrl('velora_wallet', LEDGER_DATABASE), {
    max: options.clients + 2,
    name: 'velora-bench-ledger',
  });
  try {
    await migrateWalletDb(db);
    const ops = await createLedgerOps(db);
    const wallets = await ops.fundedWallets(options.wallets, 1_000_000_000n);
    const latencies: number[] = [];
    const errors: Record<string, number> = {};
    const meter = startCpuMeter(cpuSources);
    const t0 = performance.now();
    const end = t0 + options.seconds * 1000;
    await Promise.all(
      Array.from({ length: options.clients }, async () => {
        while (performance.now() < end) {
          const a = Math.floor(Math.random() * wallets.length);
          const b = (a + 1 + Math.floor(Math.random() * (wallets.length - 1))) % wallets.length;
          const start = performance.now();
          try {
            const failed =
              form === 'pair'
                ? await ops.reserveAndCapture(wallets[a]!, wallets[b]!, 100n)
                : await ops.reserveCapturingOnce(wallets[a]!, wallets[b]!, 100n);
            if (failed) errors[failed] = (errors[failed] ?? 0) + 1;
            else latencies.push(performance.now() - start);
          } catch (err) {
            const key = err instanceof Error ? err.message.slice(0, 40) : 'error';
            errors[key] = (errors[key] ?? 0) + 1;
          }
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = meter.stop();
    await ops.stop();
    latencies.sort((x, y) => x - y);
    return {
      clients: options.clients,
      seconds: Number(seconds.toFixed(1)),
      perSecond: Number((latencies.length / seconds).toFixed(1)),
      p50: Number(percentile(latencies, 0.5).toFixed(2)),
      p99: Number(percentile(latencies, 0.99).toFixed(2)),
      errors,
      cpu,
      wallets: options.wallets,
      driver: form === 'pair' ? ops.driver : 'velora_reserve_capture_transfer (one named prepared statement)',
    };
  } finally {
    await db.destroy().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await dropDatabase(LEDGER_DATABASE);
  }
}

async function runPgbench(
  options: { clients: number; seconds: number },
  cpuSources: CpuSources,
): Promise<LedgerResult['pgbench']> {
  // Scale = clients: one branch row per client, as TPC-B wants (fewer branches than clients
  // would measure lock waits on the branch rows instead of the database).
  const scale = options.clients;
  const conn = ['-h', PG_HOST, '-p', String(PG_PORT), '-U', 'postgres'];
  await ensureDatabase('postgres', PGBENCH_DATABASE, { fresh: true });
  await run('pgbench', [...conn, '-i', '-q', '-s', String(scale), PGBENCH_DATABASE], { maxBuffer: 1 << 24 });
  const logDir = mkdtempSync(path.join(tmpdir(), 'velora-pgbench-'));
  try {
    const meter = startCpuMeter(cpuSources);
    const { stdout } = await run(
      'pgbench',
      [
        ...conn,
        '-b',
        'tpcb-like',
        '-c',
        String(options.clients),
        '-j',
        String(Math.min(2, options.clients)),
        '-T',
        String(options.seconds),
        '-l',
        `--log-prefix=${path.join(logDir, 'tx')}`,
        PGBENCH_DATABASE,
      ],
      { maxBuffer: 1 << 24 },
    );
    const cpu = meter.stop();
    // Per-transaction log lines: client_id transaction_no time_us script_no time_epoch time_us
    const latencies = readdirSync(logDir)
      .flatMap((f) => readFileSync(path.join(logDir, f), 'utf8').trim().split('\n'))
      .map((line) => Number(line.split(' ')[2]) / 1000)
      .filter((ms) => Number.isFinite(ms))
      .sort((a, b) => a - b);
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? 0);
    const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
    return {
      clients: options.clients,
      seconds: options.seconds,
      perSecond: Number(tps.toFixed(1)),
      p50: Number(percentile(latencies, 0.5).toFixed(2)),
      p99: Number(percentile(latencies, 0.99).toFixed(2)),
      errors: failed > 0 ? { failed } : {},
      cpu,
      scale,
    };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
    await dropDatabase(PGBENCH_DATABASE);
  }
}

async function dropDatabase(name: string): Promise<void> {
  await run('psql', [
    '-h',
    PG_HOST,
    '-p',
    String(PG_PORT),
    '-U',
    'postgres',
    '-qc',
    `drop database if exists ${name} with (force)`,
    'postgres',
  ]).catch(() => undefined);
}
