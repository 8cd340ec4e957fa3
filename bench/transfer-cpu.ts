/**
 * CPU per transfer of every stack process at one fixed offered rate — the steady figure to
 * compare two versions of a service with while other work shares the machine (a knee moves
 * with the neighbours' load; the CPU a process spends per transfer hardly does).
 *
 *   node --import tsx bench/transfer-cpu.ts                     # 10/s for 30 s, 8 users
 *   node --import tsx bench/transfer-cpu.ts --rate 15 --seconds 60 --users 16
 *
 * Uses the running dev stack (it never starts one): registers and funds its users, offers
 * uniform transfers for a 5 s warm-up (not measured), then for `--seconds` at `--rate`, and
 * prints ms of CPU per completed transfer for each process (bench/cpu.ts reads /proc).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startCpuMeter, type CpuSources } from './cpu.js';
import { createBenchHttp } from './http.js';
import { runOpenLoop } from './open-loop.js';
import { uniformTransfers, type TransferTally } from './scenarios/gateway-scenarios.js';
import { GATEWAY_URL, STACK, STACK_DIR, STACK_PROCESSES } from './stack-control.js';
import { createUsers, freshTokens, login } from './users.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '30' },
    users: { type: 'string', default: '8' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const log = (line: string) => process.stderr.write(`${line}\n`);

const api = createBenchHttp(GATEWAY_URL);
try {
  const admin = await login(
    api,
    process.env.VELORA_ADMIN_EMAIL ?? 'admin@velora.local',
    process.env.VELORA_ADMIN_PASSWORD ?? 'Velora-Admin-Dev-Pass-2026',
  );
  const users = await createUsers(api, {
    n: Number(values.users),
    funds: '1000000000',
    adminToken: admin.access_token,
  });
  const tokens = await freshTokens(api, users, 1);
  const parties = users.map((user, i) => ({ user, token: tokens[i]![0]! }));
  const plan = { start: rate, factor: 2, bisections: 0, min: rate, maxSteps: 1, decimals: 1 };
  const tally: TransferTally = { completed: 0, unknown: 0 };
  const spec = uniformTransfers(api, parties, plan, tally);

  log(`warm-up: ${rate}/s for 5 s`);
  await runOpenLoop({ rate, durationMs: 5000, send: spec.send });

  const sources: CpuSources = {
    pidDir: path.join(STACK_DIR, 'pids'),
    stackProcesses: STACK_PROCESSES,
    databases: Object.values(STACK.databases),
  };
  log(`measuring: ${rate}/s for ${seconds} s`);
  const meter = startCpuMeter(sources);
  const result = await runOpenLoop({ rate, durationMs: seconds * 1000, send: spec.send });
  const cpu = meter.stop();
  const ok = result.samples.filter((s) => s.ok).length;
  const errors = new Map<string, number>();
  for (const s of result.samples)
    if (!s.ok) errors.set(s.error ?? '?', (errors.get(s.error ?? '?') ?? 0) + 1);
  const perOp = (cores: number) => ((cores * cpu.seconds * 1000) / Math.max(1, ok)).toFixed(2);
  console.log(`${ok}/${result.samples.length} completed in ${cpu.seconds} s at ${rate}/s`);
  if (errors.size > 0) console.log(`errors: ${JSON.stringify(Object.fromEntries(errors))}`);
  for (const [group, cores] of Object.entries(cpu.cores)) {
    console.log(`${group.padEnd(28)} ${cores.toFixed(3)} cores  ${perOp(cores).padStart(7)} ms/transfer`);
  }
  console.log(`machine busy ${cpu.machineBusy} cores, other work ${cpu.other}`);
} finally {
  api.close();
}
process.exit(0);
