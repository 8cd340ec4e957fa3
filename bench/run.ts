/**
 * `npm run bench` — an honest benchmark of the running system (docs/benchmarks.md): open-loop
 * load on a fixed arrival schedule, latency from the scheduled send time, a stepped offered
 * rate that finds the knee, p50/p99 at half the knee, CPU per process, and every figure next
 * to a reference measured in the same run.
 *
 *   npm run bench                            # every scenario (about 15 minutes)
 *   npm run bench -- --scenario reads        # one scenario (repeat the flag for more)
 *   npm run bench -- --quick                 # short steps: a smoke run, not a measurement
 *
 * Scenarios: temporal-floor, uniform, hot, reads, login, ledger. Raw results go to
 * .stack/bench/<time>.json; the markdown summary to stdout; progress to stderr.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../scripts/stack/paths.js';
import type { CpuSources } from './cpu.js';
import { createBenchHttp } from './http.js';
import { runLedgerScenario, LEDGER_DATABASE, PGBENCH_DATABASE } from './ledger/ledger-bench.js';
import { renderMarkdown, type RunResults } from './report.js';
import { runScenario, type Timing } from './scenario.js';
import { settleStack } from './settle.js';
import {
  hotTransfers,
  logins,
  TRANSFER_AMOUNT,
  uniformTransfers,
  walletReads,
  type TransferParty,
  type TransferTally,
} from './scenarios/gateway-scenarios.js';
import {
  connectTemporal,
  emptyWorkflowScenario,
  startFloorWorker,
  transferShapeScenario,
  type FloorWorker,
} from './scenarios/temporal-floor.js';
import {
  ensureStack,
  GATEWAY_URL,
  STACK,
  STACK_DIR,
  STACK_PROCESSES,
  staleStackNote,
} from './stack-control.js';
import type { SearchPlan } from './stats.js';
import { createUsers, freshTokens, login, postedBalance, type BenchUser } from './users.js';

const SCENARIOS = ['temporal-floor', 'uniform', 'hot', 'reads', 'login', 'ledger'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', multiple: true },
    quick: { type: 'boolean', default: false },
    users: { type: 'string' },
    'ledger-clients': { type: 'string', default: '8' },
  },
});

const quick = values.quick;
const wanted = new Set<ScenarioName>(
  (values.scenario ?? [...SCENARIOS])
    .flatMap((s) => s.split(','))
    .map((s) => {
      if (!(SCENARIOS as readonly string[]).includes(s)) {
        console.error(`unknown scenario ${s} (one of ${SCENARIOS.join(', ')})`);
        process.exit(2);
      }
      return s as ScenarioName;
    }),
);

const timing: Timing = quick
  ? { warmupMs: 2000, stepMs: 3000, halfKneeMs: 4000, settleMs: 1000 }
  : { warmupMs: 5000, stepMs: 10_000, halfKneeMs: 15_000, settleMs: 2000 };

/** Geometric steps ×2 from `start`, then two bisections (quick: three steps, no bisection). */
function plan(start: number, min: number, decimals = 0): SearchPlan {
  return quick
    ? { start, factor: 2, bisections: 0, min, maxSteps: 3, decimals }
    : { start, factor: 2, bisections: 2, min, maxSteps: 9, decimals };
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function gitCommit(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return { commit, dirty: status.length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

async function main(): Promise<void> {
  const started = new Date();
  const { commit, dirty } = gitCommit();
  const results: RunResults = {
    meta: {
      date: started.toISOString().replace(/\.\d+Z$/, 'Z'),
      commit,
      dirty,
      quick,
      cores: cpus().length,
      loadBefore: loadavg(),
      timing,
      notes: [],
      settling: [],
    },
    scenarios: [],
  };
  let floorWorker: FloorWorker | undefined;
  const cpuSources: CpuSources = {
    pidDir: path.join(STACK_DIR, 'pids'),
    stackProcesses: STACK_PROCESSES,
    databases: [...Object.values(STACK.databases), LEDGER_DATABASE, PGBENCH_DATABASE],
    extra: () => ({ 'bench floor worker': floorWorker?.pid }),
  };
  const stack = await ensureStack(log);
  const stale = staleStackNote();
  if (stale) {
    results.meta.notes.push(stale);
    log(stale);
  }
  const api = createBenchHttp(GATEWAY_URL);
  /** Before each scenario: what the previous one left behind is drained first (bench/settle.ts). */
  const settle = async (next: string) => {
    const s = await settleStack(`http://127.0.0.1:${STACK.ports.wallet}`);
    const line = s.settled
      ? `settled ${s.seconds} s before ${next}`
      : `not settled after ${s.seconds} s before ${next} (${s.pending}): measured anyway`;
    log(line);
    results.meta.settling?.push(line);
  };
  try {
    if (wanted.has('temporal-floor')) {
      log('starting the floor worker (bundles workflows/transfer-workflow.ts) …');
      floorWorker = await startFloorWorker(log);
      await settle('temporal-floor');
      const temporal = await connectTemporal();
      try {
        results.scenarios.push(
          await runScenario(emptyWorkflowScenario(temporal.client, plan(20, 2)), timing, cpuSources, log),
        );
        results.scenarios.push(
          await runScenario(transferShapeScenario(temporal.client, plan(10, 1)), timing, cpuSources, log),
        );
      } finally {
        await temporal.close();
        await floorWorker.stop();
        floorWorker = undefined;
      }
    }

    const gatewayScenarios = (['uniform', 'hot', 'reads', 'login'] as const).filter((s) => wanted.has(s));
    if (gatewayScenarios.length > 0 && stack.gatewayProblem) {
      results.meta.notes.push(stack.gatewayProblem);
      log(stack.gatewayProblem);
    } else if (gatewayScenarios.length > 0) {
      const admin = await login(
        api,
        process.env.VELORA_ADMIN_EMAIL ?? 'admin@velora.local',
        process.env.VELORA_ADMIN_PASSWORD ?? 'Velora-Admin-Dev-Pass-2026',
      );
      const limited = await rateLimitWarning(api, admin.access_token);
      if (limited) {
        results.meta.notes.push(limited);
        log(limited);
      }
      const n = Number(values.users ?? (quick ? 8 : 32));
      log(`registering and funding ${n + 1} users …`);
      const users = await createUsers(api, { n: n + 1, funds: '1000000000', adminToken: admin.access_token });
      const hotUser = users.pop()!;
      results.meta.notes.push(
        `${n} funded users (plus one hot wallet); transfers of ${TRANSFER_AMOUNT} minor units (no step-up, far from the daily limits)`,
      );
      const parties = async (list: BenchUser[]): Promise<TransferParty[]> => {
        const tokens = await freshTokens(api, list, 1);
        return list.map((user, i) => ({ user, token: tokens[i]![0]! }));
      };
      if (wanted.has('uniform')) {
        await settle('transfers/uniform');
        const tally: TransferTally = { completed: 0, unknown: 0 };
        const spec = uniformTransfers(api, await parties(users), plan(4, 0.5, 1), tally);
        results.scenarios.push(await runScenario(spec, timing, cpuSources, log));
      }
      if (wanted.has('hot')) {
        await settle('transfers/hot');
        const tally: TransferTally = { completed: 0, unknown: 0 };
        const [hotToken] = (await freshTokens(api, [hotUser], 1))[0]!;
        const before = await postedBalance(api, hotUser.walletId, hotToken!);
        const spec = hotTransfers(api, await parties(users), hotUser.walletId, plan(4, 0.5, 1), tally);
        results.scenarios.push(await runScenario(spec, timing, cpuSources, log));
        const [afterToken] = (await freshTokens(api, [hotUser], 1))[0]!;
        const after = await postedBalance(api, hotUser.walletId, afterToken!);
        const expected = BigInt(tally.completed) * BigInt(TRANSFER_AMOUNT);
        results.hotDrift = {
          completed: tally.completed,
          unknown: tally.unknown,
          expectedDelta: expected.toString(),
          actualDelta: (after - before).toString(),
          drift: (after - before - expected).toString(),
        };
      }
      if (wanted.has('reads')) {
        const perUser = Math.ceil((quick ? 64 : 256) / users.length);
        log(`minting ${perUser * users.length} fresh tokens …`);
        const tokens = await freshTokens(api, users, perUser);
        const vus = tokens.flatMap((list, u) =>
          list.map((token) => ({ token, walletId: users[u]!.walletId })),
        );
        await settle('reads');
        results.scenarios.push(
          await runScenario(walletReads(api, vus, plan(250, 25)), timing, cpuSources, log),
        );
      }
      if (wanted.has('login')) {
        await settle('login');
        results.scenarios.push(
          await runScenario(logins(api, users, plan(4, 0.5, 1)), timing, cpuSources, log),
        );
      }
    }

    if (wanted.has('ledger')) {
      await settle('ledger');
      results.ledger = await runLedgerScenario(
        { clients: Number(values['ledger-clients']), seconds: quick ? 5 : 20, wallets: quick ? 50 : 500 },
        cpuSources,
        log,
      );
    }
  } finally {
    api.close();
    await floorWorker?.stop();
    await stack.release();
  }

  const dir = path.join(ROOT, '.stack', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${results.meta.date.replaceAll(':', '-')}.json`);
  const json = JSON.stringify(results, null, 2);
  writeFileSync(file, json);
  writeFileSync(path.join(dir, 'latest.json'), json);
  process.stdout.write(`${renderMarkdown(results)}\n`);
  log(`raw results: ${path.relative(ROOT, file)} (${Math.round((Date.now() - started.getTime()) / 1000)} s)`);
}

/** A warning when the running stack would rate-limit the bench (it was started with the defaults). */
async function rateLimitWarning(
  api: ReturnType<typeof createBenchHttp>,
  token: string,
): Promise<string | undefined> {
  const res = await api.request('GET', '/v1/wallets', {
    headers: { authorization: `Bearer ${token}` },
    timeoutMs: 10_000,
  });
  const limit = Number(res.headers['ratelimit-limit'] ?? Infinity);
  if (limit >= 100_000) return undefined;
  return `WARNING: the running stack rate-limits at ${limit}/min: results measure the limiter. Restart it with RATE_LIMIT_IP_PER_MINUTE=100000000 RATE_LIMIT_AUTH_PER_MINUTE=1000000 RATE_LIMIT_USER_PER_MINUTE=1000000.`;
}

await main();
// Lingering keep-alive sockets or gRPC channels must not keep the process alive.
process.exit(0);
