/**
 * CPU per wallet read of every stack process at one fixed offered rate: the figure to compare
 * two versions of the gateway or WalletService with (bench/swap-service.ts --from …) while other
 * work shares the machine, as bench/transfer-cpu.ts does for transfers.
 *
 *   node --import tsx bench/read-cpu.ts                      # 300/s for 20 s, 256 tokens
 *   node --import tsx bench/read-cpu.ts --rate 500 --seconds 30
 *
 * Uses the running dev stack (it never starts one): registers 8 funded users, mints 32 fresh
 * tokens each (like the `reads` scenario), offers reads for a 5 s warm-up (not measured), then
 * for `--seconds` at `--rate`, and prints ms of CPU per successful read for each process.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
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
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);

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
  const result = await runOpenLoop({ rate, durationMs: seconds * 1000, send });
  const cpu = meter.stop();
  const ok = result.samples.filter((s) => s.ok).length;
  const errors: Record<string, number> = {};
  for (const s of result.samples) if (!s.ok) errors[s.error ?? '?'] = (errors[s.error ?? '?'] ?? 0) + 1;
  const perRead = (cores: number) => ((cores * cpu.seconds * 1000) / Math.max(1, ok)).toFixed(3);
  // One line, so rounds of an A/B alternation can be collected with grep.
  const lat = latencies(result.samples);
  const p = (q: number) => percentile(lat, q).toFixed(1);
  const groups = Object.entries(cpu.cores).map(([group, cores]) => `${group}=${perRead(cores)}`);
  console.log(
    `reads ok=${ok}/${result.samples.length} rate=${rate} s=${cpu.seconds} ms/read ${groups.join(' ')} p50=${p(0.5)} p99=${p(0.99)} max=${p(1)} machine=${cpu.machineBusy} other=${cpu.other} errors=${JSON.stringify(errors)}`,
  );
} finally {
  api.close();
}
process.exit(0);
