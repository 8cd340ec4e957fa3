/**
 * Activity-kind benchmark: what the lean transfer shape costs Temporal with regular vs local
 * activities, and which worker/server settings move it. Every variant runs in the SAME run,
 * interleaved round by round (the machine is shared: only same-run comparisons mean anything).
 *
 *   node --import tsx workers/bench/activity-kinds.ts [workflows per measurement=120] [in flight=32] [rounds=3]
 *   BENCH_PROFILES=few-pollers BENCH_WORKFLOWS=transferWorkflow,transferWorkflowBaseline \
 *     BENCH_BASELINE_REV=<released commit> node --import tsx workers/bench/activity-kinds.ts
 *
 * It starts its own Temporal dev server (the stack's flags: SQLite file in WAL, the project's
 * search attributes and dynamic config), runs a
 * worker in this process with no-op activities, and for each (server, worker profile, workflow)
 * measures a closed loop of `in flight` clients: workflows/s and latency percentiles; the CPU
 * time one workflow costs the server process and this process (worker and client: /proc and
 * `process.cpuUsage`, the figure that survives a loaded machine, unlike workflows/s); and what
 * one workflow's history holds (workflow tasks, events, search-attribute upserts, markers).
 * It prints a table and stops its servers. No assertion: the numbers go to docs/orchestrator.md.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { dynamicConfigFlags, temporalHealthy } from '../../scripts/stack/temporal.js';
import { requireTool } from '../../scripts/stack/tools.js';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../../temporal-config/index.js';
import { transferStartOptions, type TransferInput } from '../../workflows/transfer-contract.js';
import { WORKER_TUNING } from '../worker-tuning.js';

const [perMeasurement = 120, inFlight = 32, rounds = 3] = process.argv.slice(2).map(Number);

const silent = () => undefined;
Runtime.install({
  logger: {
    log: silent,
    trace: silent,
    debug: silent,
    info: silent,
    warn: (m) => console.error(`worker: ${m}`),
    error: (m) => console.error(`worker: ${m}`),
  },
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

interface Server {
  name: string;
  address: string;
  process: ChildProcess;
  dir: string;
}

async function startServer(name: string, extraFlags: string[]): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), `velora-activity-bench-${name}-`));
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    '--http-port',
    String(await freePort()),
    '--metrics-port',
    String(await freePort()),
    '--db-filename',
    path.join(dir, 'temporal.db'),
    '--log-level',
    'error',
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    ...Object.entries(SEARCH_ATTRIBUTE_DECLARATIONS).flatMap(([n, t]) => ['--search-attribute', `${n}=${t}`]),
    ...dynamicConfigFlags(),
    ...extraFlags,
  ];
  const child = spawn(requireTool('temporal', 'TEMPORAL_CLI_PATH'), args, { stdio: 'ignore' });
  for (let i = 0; i < 240 && !(await temporalHealthy(port)); i++)
    await new Promise((r) => setTimeout(r, 250));
  return { name, address: `127.0.0.1:${port}`, process: child, dir };
}

const noop = async () => ({
  attempt: 1,
  hold_id: randomUUID(),
  step_up_required: false,
  transaction_id: randomUUID(),
  released: true,
});
const activities = {
  benchReserve: async () => undefined,
  benchCapture: async () => undefined,
  reserveTransfer: noop,
  captureTransfer: noop,
  releaseTransfer: noop,
};

/** Worker settings compared (the decision and the numbers: docs/orchestrator.md). */
const PROFILES: Record<string, Partial<WorkerOptions>> = {
  'sdk-defaults': {},
  // More workflow-task slots and a bigger cache: a local activity holds its workflow task's slot.
  wide: {
    maxConcurrentWorkflowTaskExecutions: 100,
    maxConcurrentLocalActivityExecutions: 200,
    maxCachedWorkflows: 5000,
  },
  // Fewer long polls on a 2-core machine: what workers/main.ts runs (workers/worker-tuning.ts).
  'few-pollers': WORKER_TUNING,
};

/**
 * Server variants besides the stack's own flags (`dev-stack`). `BENCH_SERVERS=dev-stack,one-partition`
 * picks some (default: dev-stack only).
 */
const SERVER_VARIANTS: Record<string, string[]> = {
  'dev-stack': [],
  // One partition per task queue instead of the dev server's 4: on a single node the partitions
  // only forward polls and tasks to each other.
  'one-partition': [
    '--dynamic-config-value',
    'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value',
    'matching.numTaskqueueWritePartitions=1',
  ],
};
const SERVERS = (process.env.BENCH_SERVERS ?? 'dev-stack').split(',');
/** `BENCH_PROFILES=few-pollers` narrows a run to some worker profiles. */
const PROFILE_NAMES = process.env.BENCH_PROFILES?.split(',');

/**
 * `BENCH_BASELINE_REV=<git revision>` adds `transferWorkflowBaseline`: workflows/transfer-workflow.ts
 * as it was at that revision (with today's imports), so a change to the transfer workflow is
 * measured against the released one in the same run.
 */
const BASELINE_REV = process.env.BENCH_BASELINE_REV;
const ALL_WORKFLOWS = [
  'emptyWorkflow',
  'leanRegular',
  'leanLocal',
  'leanMixed',
  'transferWorkflow',
  ...(BASELINE_REV ? ['transferWorkflowBaseline'] : []),
];
type WorkflowName = string;
/** `BENCH_WORKFLOWS=transferWorkflow,leanRegular` narrows a run to some workflows. */
const WORKFLOWS: readonly WorkflowName[] = process.env.BENCH_WORKFLOWS
  ? ALL_WORKFLOWS.filter((w) => process.env.BENCH_WORKFLOWS!.split(',').includes(w))
  : ALL_WORKFLOWS;

function transferInput(): TransferInput {
  return {
    transfer_id: randomUUID(),
    from_wallet_id: randomUUID(),
    to_wallet_id: randomUUID(),
    amount: '2500',
    currency: 'USD',
    description: 'bench',
    initiated_by: {
      user_id: randomUUID(),
      client_id: 'bench',
      token_jti: 'j',
      ip: '127.0.0.1',
      user_agent: 'b',
    },
    request_hash: 'sha256:bench',
    created_at: new Date().toISOString(),
    signature: 'bench-no-op-activities',
  };
}

async function runOne(client: Client, taskQueue: string, name: WorkflowName): Promise<string> {
  if (name.startsWith('transferWorkflow')) {
    const input = transferInput();
    const handle = await client.workflow.start(name, {
      ...transferStartOptions(input),
      taskQueue,
    });
    await handle.result();
    return handle.workflowId;
  }
  const workflowId = `bench-${name}-${randomUUID()}`;
  await client.workflow.execute(name, { taskQueue, workflowId });
  return workflowId;
}

interface Measurement {
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU ms per workflow of the Temporal server process, net of what it spends idle. */
  serverCpuMs: number;
  /** CPU ms per workflow of this process (the worker's sandbox and core, the client), net of idle. */
  workerCpuMs: number;
}

/** CPU ms per second that the server and this process spend with nothing to run (idle long polls, timers). */
interface IdleRate {
  server: number;
  own: number;
}

/** Measured over a pause before each round: the loaded machine's slow phases stretch a measurement, and idle work with it. */
async function idleRate(serverPid: number, ms = 3000): Promise<IdleRate> {
  const server0 = processCpuMs(serverPid);
  const own0 = ownCpuMs();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return {
    server: (processCpuMs(serverPid) - server0) / (ms / 1000),
    own: (ownCpuMs() - own0) / (ms / 1000),
  };
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux). */
const CLK_TCK = 100;

/** utime + stime of a process (all its threads) in ms. */
function processCpuMs(pid: number): number {
  const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm may hold spaces: the fields after its closing parenthesis are state(0) … utime(11) stime(12).
  const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function measure(
  client: Client,
  taskQueue: string,
  name: WorkflowName,
  serverPid: number,
  count = perMeasurement,
  idle: IdleRate = { server: 0, own: 0 },
): Promise<Measurement> {
  const latencies: number[] = [];
  let next = 0;
  const server0 = processCpuMs(serverPid);
  const own0 = ownCpuMs();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        next += 1;
        const t0 = performance.now();
        await runOne(client, taskQueue, name);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const serverCpuMs = (processCpuMs(serverPid) - server0 - idle.server * elapsed) / count;
  const workerCpuMs = (ownCpuMs() - own0 - idle.own * elapsed) / count;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return { perSecond: count / elapsed, p50: pct(50), p99: pct(99), serverCpuMs, workerCpuMs };
}

async function costOf(client: Client, taskQueue: string, name: WorkflowName) {
  const id = await runOne(client, taskQueue, name);
  const history = await client.workflow.getHandle(id).fetchHistory();
  const events = history.events ?? [];
  return {
    events: events.length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    upserts: events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes).length,
    markers: events.filter((e) => e.markerRecordedEventAttributes).length,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** The median and the spread of the rounds: `median (min–max)`. */
const spread = (xs: number[]) =>
  `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;

/**
 * The bench's workflows, plus the transfer workflow of BENCH_BASELINE_REV when set: written for
 * the bundler next to today's workflow (so its relative imports resolve) and removed once bundled.
 */
async function bundleBenchWorkflows() {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const logger = {
    log: silent,
    trace: silent,
    debug: silent,
    info: silent,
    warn: silent,
    error: console.error,
  };
  if (!BASELINE_REV) {
    return bundleWorkflowCode({ workflowsPath: path.join(here, 'activity-kinds-workflows.ts'), logger });
  }
  const baseline = path.join(here, '../../workflows', `.bench-baseline-${process.pid}.ts`);
  const entry = path.join(here, `.bench-entry-${process.pid}.ts`);
  try {
    writeFileSync(
      baseline,
      execFileSync('git', ['show', `${BASELINE_REV}:workflows/transfer-workflow.ts`], {
        cwd: path.join(here, '../..'),
        encoding: 'utf8',
      }),
    );
    writeFileSync(
      entry,
      [
        "export * from './activity-kinds-workflows.js';",
        `export { transferWorkflow as transferWorkflowBaseline } from '../../workflows/${path.basename(baseline, '.ts')}.js';`,
      ].join('\n'),
    );
    return await bundleWorkflowCode({ workflowsPath: entry, logger });
  } finally {
    rmSync(baseline, { force: true });
    rmSync(entry, { force: true });
  }
}

async function main() {
  const bundle = await bundleBenchWorkflows();
  const servers: Server[] = [];
  for (const name of SERVERS) {
    const flags = SERVER_VARIANTS[name];
    if (!flags) throw new Error(`unknown server variant ${name}`);
    servers.push(await startServer(name, flags));
  }
  const rows: string[] = [];
  interface Setup {
    server: string;
    serverPid: number;
    profile: string;
    client: Client;
    taskQueue: string;
    worker: Worker;
    running: Promise<void>;
    close: () => Promise<void>;
  }
  const setups: Setup[] = [];
  try {
    for (const server of servers) {
      for (const [profile, options] of Object.entries(PROFILES)) {
        if (PROFILE_NAMES && !PROFILE_NAMES.includes(profile)) continue;
        const taskQueue = `activity-bench-${profile}-${randomUUID()}`;
        const connection = await NativeConnection.connect({ address: server.address });
        const worker = await Worker.create({
          connection,
          taskQueue,
          workflowBundle: bundle,
          activities,
          ...options,
        });
        const clientConnection = await Connection.connect({ address: server.address });
        setups.push({
          server: server.name,
          serverPid: server.process.pid!,
          profile,
          client: new Client({ connection: clientConnection }),
          taskQueue,
          worker,
          running: worker.run(),
          close: async () => {
            await clientConnection.close();
            await connection.close();
          },
        });
      }
    }
    // Every (server, worker profile, workflow) runs once per round, the order rotated each
    // round, so slow phases of the shared machine spread over all variants alike.
    const combos = setups.flatMap((setup) => WORKFLOWS.map((name) => ({ setup, name })));
    for (const { setup, name } of combos)
      await measure(setup.client, setup.taskQueue, name, setup.serverPid, inFlight); // warm-up
    const results = new Map<(typeof combos)[number], Measurement[]>(combos.map((c) => [c, []]));
    for (let round = 0; round < rounds; round++) {
      const offset = Math.floor((round * combos.length) / rounds);
      const idle = new Map<number, IdleRate>();
      for (const pid of new Set(setups.map((s) => s.serverPid))) idle.set(pid, await idleRate(pid));
      for (let k = 0; k < combos.length; k++) {
        const combo = combos[(k + offset) % combos.length]!;
        const { client, taskQueue, serverPid } = combo.setup;
        results
          .get(combo)!
          .push(await measure(client, taskQueue, combo.name, serverPid, perMeasurement, idle.get(serverPid)));
      }
      console.error(`round ${round + 1}/${rounds} done`);
    }
    for (const combo of combos) {
      const ms = results.get(combo)!;
      const cost = await costOf(combo.setup.client, combo.setup.taskQueue, combo.name);
      rows.push(
        [
          combo.setup.server,
          combo.setup.profile,
          combo.name,
          median(ms.map((m) => m.perSecond)).toFixed(1),
          median(ms.map((m) => m.p50)).toFixed(0),
          median(ms.map((m) => m.p99)).toFixed(0),
          spread(ms.map((m) => m.serverCpuMs)),
          spread(ms.map((m) => m.workerCpuMs)),
          String(cost.workflowTasks),
          String(cost.events),
          String(cost.upserts),
          String(cost.markers),
        ].join(' | '),
      );
    }
    for (const setup of setups) {
      setup.worker.shutdown();
      await setup.running;
      await setup.close();
    }
  } finally {
    for (const s of servers) {
      s.process.kill('SIGTERM');
      rmSync(s.dir, { recursive: true, force: true });
    }
  }
  console.log(
    `\n${perMeasurement} workflows per measurement, ${inFlight} in flight, median of ${rounds} interleaved rounds` +
      ' (CPU: median (min–max), net of the idle rate measured before each round)\n',
  );
  console.log(
    '| server | worker | workflow | workflows/s | p50 ms | p99 ms | server CPU ms/wf | worker+client CPU ms/wf | workflow tasks | events | upserts | markers |',
  );
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(`| ${row} |`);
}

await main();
