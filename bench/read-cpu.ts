/**
 * CPU per wallet read of every stack process at one fixed offered rate: the figure to compare
 * two versions of the gateway or WalletService with (bench/swap-service.ts --from …) while other
 * work shares the machine, as bench/transfer-cpu.ts does for transfers.
 *
 *   node --import tsx bench/read-cpu.ts                      # 300/s for 20 s, 256 tokens
 *   node --import tsx bench/read-cpu.ts --rate 500 --seconds 30
 *   node --import tsx bench/read-cpu.ts --rate 250 --seconds 40 --backlog 2000   # reads while a backlog drains
 *
 * `--backlog N` makes, `--backlog-at` seconds into the measured window (default: half way), the
 * newest N outbox rows unrelayed and unpublished again: the work a burst of transfers leaves
 * WalletService's relay and event publisher, drained while the reads run (the relay's re-sends
 * are duplicates MongoDB ignores; the events go out again with their ids, which consumers
 * dedupe). Not on the test stack. The line then also gives the reads' p99 from that moment on,
 * and each second's largest event-loop delay of WalletService and the gateway (their
 * `nodejs_eventloop_lag_max_seconds`, reset at each scrape) before and after it.
 *
 * Uses the running dev stack (it never starts one): registers 8 funded users, mints 32 fresh
 * tokens each (like the `reads` scenario), offers reads for a 5 s warm-up (not measured), then
 * for `--seconds` at `--rate`, and prints ms of CPU per successful read for each process.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pgUrl } from '../scripts/stack/profile.js';
import { startCpuMeter } from './cpu.js';
import { createBenchHttp } from './http.js';
import { runOpenLoop } from './open-loop.js';
import { walletReads } from './scenarios/gateway-scenarios.js';
import { GATEWAY_URL, STACK, STACK_DIR, STACK_PROCESSES } from './stack-control.js';
import { latencies, percentile } from './stats.js';
import { createUsers, freshTokens, login } from './users.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '20' },
    backlog: { type: 'string', default: '0' },
    'backlog-at': { type: 'string' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const backlog = Number(values.backlog);
const backlogAtMs = Number(values['backlog-at'] ?? seconds / 2) * 1000;
if (backlog > 0 && STACK.name === 'test') throw new Error('--backlog re-sends events: not on the test stack');

/** Each second, the largest event-loop delay since the previous scrape (ms), per service. */
function sampleLag(url: string, into: { atMs: number; ms: number }[], t0: number) {
  const timer = setInterval(() => {
    fetch(url)
      .then((r) => r.text())
      .then((text) => {
        const m = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text);
        if (m) into.push({ atMs: performance.now() - t0, ms: Number(m[1]) * 1000 });
      })
      .catch(() => undefined);
  }, 1000);
  return () => clearInterval(timer);
}

const api = createBenchHttp(GATEWAY_URL);
try {
  const admin = await login(
    api,
    process.env.VELORA_ADMIN_EMAIL ?? 'admin@velora.local',
    process.env.VELORA_ADMIN_PASSWORD ?? 'Velora-Admin-Dev-Pass-2026',
  );
  const users = await createUsers(api, { n: 8, funds: '1000', adminToken: admin.access_token });
  const tokens = await freshTokens(api, users, 32);
  const vus = tokens.flatMap((list, u) => list.map((token) => ({ token, walletId: users[u]!.walletId })));
  const plan = { start: rate, factor: 2, bisections: 0, min: rate, maxSteps: 1, decimals: 1 };
  const { send } = walletReads(api, vus, plan);

  await runOpenLoop({ rate, durationMs: 5000, send });
  const meter = startCpuMeter({
    pidDir: path.join(STACK_DIR, 'pids'),
    stackProcesses: STACK_PROCESSES,
    databases: Object.values(STACK.databases),
  });
  const t0 = performance.now();
  const walletLag: { atMs: number; ms: number }[] = [];
  const gatewayLag: { atMs: number; ms: number }[] = [];
  const stopSampling = [
    sampleLag(`http://127.0.0.1:${STACK.ports.wallet}/metrics`, walletLag, t0),
    sampleLag(`http://127.0.0.1:${STACK.ports.gateway + 100}/metrics`, gatewayLag, t0),
  ];
  let backlogDone: Promise<void> = Promise.resolve();
  if (backlog > 0) {
    backlogDone = new Promise((resolve) => setTimeout(resolve, backlogAtMs)).then(async () => {
      const db = new pg.Client({ connectionString: pgUrl('velora_wallet', STACK.databases.wallet) });
      await db.connect();
      try {
        await db.query(
          'update outbox set relayed_at = null, published_at = null where id in (select id from outbox order by id desc limit $1)',
          [backlog],
        );
      } finally {
        await db.end();
      }
    });
  }
  const result = await runOpenLoop({ rate, durationMs: seconds * 1000, send });
  await backlogDone;
  for (const stop of stopSampling) stop();
  const cpu = meter.stop();
  const ok = result.samples.filter((s) => s.ok).length;
  const errors: Record<string, number> = {};
  for (const s of result.samples) if (!s.ok) errors[s.error ?? '?'] = (errors[s.error ?? '?'] ?? 0) + 1;
  const perRead = (cores: number) => ((cores * cpu.seconds * 1000) / Math.max(1, ok)).toFixed(3);
  // One line, so rounds of an A/B alternation can be collected with grep.
  const lat = latencies(result.samples);
  const p = (q: number) => percentile(lat, q).toFixed(1);
  // Before and after the backlog was made (`after` undefined: the whole window).
  const maxOf = (xs: { atMs: number; ms: number }[], after?: boolean) =>
    Math.max(
      0,
      ...xs.filter((x) => after === undefined || x.atMs >= backlogAtMs === after).map((x) => x.ms),
    ).toFixed(0);
  const drain =
    backlog > 0
      ? ` backlog=${backlog}@${backlogAtMs / 1000}s p99_from_then=${percentile(
          latencies(result.samples.filter((s) => s.scheduledMs >= backlogAtMs)),
          0.99,
        ).toFixed(
          1,
        )} lag_max_ms wallet=${maxOf(walletLag, false)}->${maxOf(walletLag, true)} gateway=${maxOf(gatewayLag, false)}->${maxOf(gatewayLag, true)}`
      : ` lag_max_ms wallet=${maxOf(walletLag)} gateway=${maxOf(gatewayLag)}`;
  const groups = Object.entries(cpu.cores).map(([group, cores]) => `${group}=${perRead(cores)}`);
  console.log(
    `reads ok=${ok}/${result.samples.length} rate=${rate} s=${cpu.seconds} ms/read ${groups.join(' ')} p50=${p(0.5)} p99=${p(0.99)} max=${p(1)} machine=${cpu.machineBusy} other=${cpu.other}${drain} errors=${JSON.stringify(errors)}`,
  );
} finally {
  api.close();
}
process.exit(0);
