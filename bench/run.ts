/**
 * Open-loop benchmarks against the stack command one starts (`npm start -- --detach`, or this
 * script starts it): autocannon in rate mode offers a fixed request rate and we record what
 * the system achieved and its latency percentiles; pgbench's TPC-B-like script runs on the
 * same PostgreSQL in the same run as the physical reference for a debit/credit transaction.
 *
 *   npm run bench                          # every scenario, defaults below
 *   BENCH_DURATION=30 BENCH_RATE=50 npm run bench -- transfers-many
 *
 * Results: bench/results/<time>.json and a table on stdout. Never a test assertion.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { ROOT } from '../scripts/stack/paths.js';
import { PROFILES } from '../scripts/stack/profile.js';
import { httpOk } from '../scripts/stack/processes.js';
import { stackDown, stackUp } from '../scripts/stack/stack.js';

const GATEWAY = process.env.BENCH_GATEWAY_URL ?? `http://127.0.0.1:${PROFILES.dev.ports.gateway}`;
const DURATION = Number(process.env.BENCH_DURATION ?? 20);
const RATE = Number(process.env.BENCH_RATE ?? 40);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const USERS = Number(process.env.BENCH_USERS ?? 16);

interface Row {
  scenario: string;
  offered_rps: number;
  achieved_rps: number;
  ok: number;
  errors: number;
  non_2xx: number;
  timeouts: number;
  p50_ms: number;
  p99_ms: number;
  p99_9_ms: number;
  note?: string;
}

interface BenchUser {
  email: string;
  password: string;
  walletId: string;
  token: string;
}

async function call(method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${GATEWAY}${p}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function loginToken(email: string, password: string): Promise<string> {
  const res = await call('POST', '/v1/auth/login', { email, password });
  if (res.status !== 200) throw new Error(`login ${email}: ${res.status} ${JSON.stringify(res.body)}`);
  return String(res.body.access_token);
}

async function createUsers(n: number, adminToken: string): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  for (let i = 0; i < n; i++) {
    const email = `bench-${randomUUID().slice(0, 10)}@example.com`;
    const password = `Bench!${randomUUID()}`;
    const reg = await call('POST', '/v1/auth/register', { email, password });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
    const walletId = String(reg.body.wallet_id);
    const dep = await call(
      'POST',
      `/v1/admin/wallets/${walletId}/deposits`,
      { amount: '1000000000', currency: 'USD', reference: `bench-${randomUUID()}` },
      { authorization: `Bearer ${adminToken}`, 'idempotency-key': randomUUID() },
    );
    if (dep.status !== 201) throw new Error(`deposit: ${dep.status} ${JSON.stringify(dep.body)}`);
    users.push({ email, password, walletId, token: await loginToken(email, password) });
  }
  return users;
}

function run(name: string, opts: autocannon.Options): Promise<Row> {
  return new Promise((resolve, reject) => {
    autocannon(
      { connections: CONNECTIONS, duration: DURATION, overallRate: RATE, timeout: 35, ...opts },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const ok = result['2xx'];
        resolve({
          scenario: name,
          offered_rps: opts.overallRate ?? RATE,
          achieved_rps: Math.round((ok / result.duration) * 10) / 10,
          ok,
          errors: result.errors,
          non_2xx: result.non2xx,
          timeouts: result.timeouts,
          p50_ms: result.latency.p50,
          p99_ms: result.latency.p99,
          p99_9_ms: result.latency.p99_9,
        });
      },
    );
  });
}

function transferScenario(name: string, users: BenchUser[], pickTarget: (from: number) => BenchUser) {
  let next = 0;
  return run(name, {
    url: GATEWAY,
    requests: [
      {
        method: 'POST',
        path: '/v1/transfers',
        setupRequest: (req) => {
          const i = next++ % users.length;
          const from = users[i]!;
          const to = pickTarget(i);
          return {
            ...req,
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${from.token}`,
              'idempotency-key': randomUUID(),
              prefer: 'wait=30',
            },
            body: JSON.stringify({
              from_wallet_id: from.walletId,
              to_wallet_id: to.walletId,
              amount: '100',
              currency: 'USD',
            }),
          };
        },
      },
    ],
  });
}

/** Percentile (0..1) of an ascending-sorted array. */
function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function pgbench(): Row {
  const db = 'velora_bench';
  const pg = ['-h', '127.0.0.1', '-U', 'postgres'];
  const logDir = mkdtempSync(path.join(tmpdir(), 'velora-pgbench-'));
  execFileSync('psql', [...pg, '-qc', `drop database if exists ${db}`, 'postgres']);
  execFileSync('psql', [...pg, '-qc', `create database ${db}`, 'postgres']);
  execFileSync('pgbench', [...pg, '-i', '-q', '-s', '10', db], { stdio: 'ignore' });
  const offered = RATE * 10;
  const out = execFileSync(
    'pgbench',
    [
      ...pg,
      '-b',
      'tpcb-like',
      '-c',
      '8',
      '-j',
      '2',
      '-T',
      String(DURATION),
      '-R',
      String(offered),
      '-l',
      `--log-prefix=${path.join(logDir, 'tx')}`,
      db,
    ],
    { encoding: 'utf8' },
  );
  // Per-transaction log: client_id transaction_no time(µs) script_no time_epoch time_us [schedule_lag]
  const latencies = readdirSync(logDir)
    .flatMap((f) => readFileSync(path.join(logDir, f), 'utf8').trim().split('\n'))
    .map((line) => Number(line.split(' ')[2]) / 1000)
    .filter((ms) => Number.isFinite(ms))
    .sort((a, b) => a - b);
  rmSync(logDir, { recursive: true, force: true });
  execFileSync('psql', [...pg, '-qc', `drop database if exists ${db}`, 'postgres']);
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? 0);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    scenario: 'pgbench tpcb-like (reference)',
    offered_rps: offered,
    achieved_rps: Math.round(tps * 10) / 10,
    ok: latencies.length,
    errors: 0,
    non_2xx: 0,
    timeouts: 0,
    p50_ms: round(percentile(latencies, 0.5)),
    p99_ms: round(percentile(latencies, 0.99)),
    p99_9_ms: round(percentile(latencies, 0.999)),
    note: '8 clients, 2 threads, scale 10, rate-limited (-R) to the offered rate',
  };
}

async function main() {
  const only = new Set(process.argv.slice(2));
  const want = (s: string) => only.size === 0 || only.has(s);
  let startedStack = false;
  if (!(await httpOk(`${GATEWAY}/readyz`))) {
    console.log('gateway not up: starting the dev stack (command one, detached) …');
    await stackUp(PROFILES.dev, { log: () => undefined });
    startedStack = true;
  }
  try {
    const adminToken = await loginToken(
      process.env.VELORA_ADMIN_EMAIL ?? 'admin@velora.local',
      process.env.VELORA_ADMIN_PASSWORD ?? 'Velora-Admin-Dev-Pass-2026',
    );
    console.log(`creating ${USERS} funded users …`);
    const users = await createUsers(USERS, adminToken);
    const hot = users[0]!;
    const rows: Row[] = [];
    if (want('transfers-many'))
      rows.push(
        await transferScenario('transfers: many wallets', users, (i) => users[(i + 1) % users.length]!),
      );
    if (want('transfers-hot'))
      rows.push(await transferScenario('transfers: one hot destination', users.slice(1), () => hot));
    if (want('wallet-read')) {
      // A distinct token per connection: no two virtual users share a verified JWT.
      const tokens: { token: string; walletId: string }[] = [];
      for (let c = 0; c < CONNECTIONS; c++) {
        const u = users[c % users.length]!;
        tokens.push({ token: await loginToken(u.email, u.password), walletId: u.walletId });
      }
      let conn = 0;
      rows.push(
        await run('GET /v1/wallets/:id (fresh JWT per VU)', {
          url: GATEWAY,
          overallRate: RATE * 5,
          initialContext: {},
          requests: [
            {
              method: 'GET',
              setupRequest: (req, context: object) => {
                const ctx = context as { vu?: { token: string; walletId: string } };
                ctx.vu ??= tokens[conn++ % tokens.length];
                const vu = ctx.vu!;
                return {
                  ...req,
                  path: `/v1/wallets/${vu.walletId}`,
                  headers: { authorization: `Bearer ${vu.token}` },
                };
              },
            },
          ],
        }),
      );
    }
    if (want('login')) {
      let i = 0;
      rows.push(
        await run('POST /v1/auth/login', {
          url: GATEWAY,
          overallRate: Math.max(1, Math.round(RATE / 2)),
          requests: [
            {
              method: 'POST',
              path: '/v1/auth/login',
              setupRequest: (req) => {
                const u = users[i++ % users.length]!;
                return {
                  ...req,
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ email: u.email, password: u.password }),
                };
              },
            },
          ],
        }),
      );
    }
    if (want('pgbench')) rows.push(pgbench());

    console.table(
      rows.map((r) => ({
        scenario: r.scenario,
        'offered/s': r.offered_rps,
        'achieved/s': r.achieved_rps,
        p50: r.p50_ms,
        p99: r.p99_ms,
        'p99.9': r.p99_9_ms,
        errors: r.errors + r.non_2xx + r.timeouts,
      })),
    );
    const dir = path.join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${new Date().toISOString().replaceAll(':', '-')}.json`);
    writeFileSync(
      file,
      JSON.stringify({ gateway: GATEWAY, duration_s: DURATION, connections: CONNECTIONS, rows }, null, 2),
    );
    console.log(`results: ${path.relative(ROOT, file)}`);
  } finally {
    if (startedStack) await stackDown(PROFILES.dev, () => undefined);
  }
}

await main();
