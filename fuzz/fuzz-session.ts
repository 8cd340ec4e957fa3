/**
 * One fuzzing session: the real services, a worker on the Temporal dev server running the real
 * activities behind the fault injector, and the loop that runs generated schedules many at a
 * time, checks them, replays their histories, checks the whole books, and shrinks a failure.
 *
 * Generation: `fc.sample(arbitrary, { seed, numRuns })` draws exactly the values `fc.check`
 * would with that seed, so schedule i of a run is fast-check's path `i`: a failure found in a
 * concurrent batch is shrunk by `fc.check({ seed, path })`, one schedule at a time.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Worker } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import {
  createReconciliationService,
  type Discrepancy,
} from '../wallet/reconciliation/reconciliation.service.js';
import {
  startWorkflowTestWorker,
  workflowBundle,
  type WorkflowTestContext,
} from '../workers/testing/workflow-test-env.js';
import { causeChain } from '../lib/failures.js';
import { createFaultInjector, type FaultInjector } from './fault-injector.js';
import type { ScenarioResult, Schedule, WorkflowFuzzer } from './fuzzer.js';
import { startFuzzUpstreams, type FuzzUpstreams, type PlantedBug } from './fuzz-upstreams.js';

export const REGRESSIONS_DIR = fileURLToPath(new URL('./regressions/', import.meta.url));
export const FINDINGS_DIR = fileURLToPath(new URL('./findings/', import.meta.url));

/** The books checks of WalletService's reconciliation that hold at any instant (the others wait for its background loops). */
const BOOKS_CHECKS: ReadonlySet<Discrepancy['check']> = new Set([
  'transaction_unbalanced',
  'currency_unbalanced',
  'posting_currency',
  'wallet_posted',
  'wallet_pending',
  'wallet_negative',
]);

export interface FuzzSession {
  upstreams: FuzzUpstreams;
  injector: FaultInjector;
  worker: WorkflowTestContext;
  close(): Promise<void>;
}

/** `name` names the wallet's private database: unique per process using it. */
export async function startFuzzSession(name: string, plant?: PlantedBug): Promise<FuzzSession> {
  const upstreams = await startFuzzUpstreams(name, plant);
  const injector = createFaultInjector();
  const worker = await startWorkflowTestWorker(
    `fuzz-${name}-${randomUUID()}`,
    injector.wrap(upstreams.activities),
  );
  return {
    upstreams,
    injector,
    worker,
    async close() {
      await worker.stop();
      await upstreams.close();
    },
  };
}

export interface Failure {
  index: number;
  schedule: Schedule;
  violations: string[];
}

export interface BatchReport {
  results: ScenarioResult[];
  failures: Failure[];
  /** Histories replayed against the workflow bundle, and those that did not replay. */
  replayed: number;
  invariantChecks: number;
}

/** Runs one schedule and turns a thrown error into a violation (the harness itself broke). */
export async function runOne<S extends Schedule>(
  session: FuzzSession,
  fuzzer: WorkflowFuzzer<S>,
  schedule: S,
): Promise<ScenarioResult> {
  try {
    return await fuzzer.run(
      {
        upstreams: session.upstreams,
        injector: session.injector,
        client: session.worker.env.client,
        taskQueue: session.worker.taskQueue,
      },
      schedule,
    );
  } catch (err) {
    return {
      workflowId: '?',
      ended: 'error',
      parked: false,
      violations: [
        `the schedule could not run: ${[...causeChain(err)].map((e) => e.message).join(': ') || String(err)}`,
      ],
      messages: [],
      checks: 0,
    };
  }
}

/**
 * Runs `schedules` with at most `concurrency` at a time (each on its own user and wallets),
 * then replays every history in one batch and checks the whole books once.
 */
export async function runBatch<S extends Schedule>(
  session: FuzzSession,
  fuzzer: WorkflowFuzzer<S>,
  schedules: readonly S[],
  concurrency: number,
  firstIndex = 0,
): Promise<BatchReport> {
  const results = new Array<ScenarioResult>(schedules.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, schedules.length) }, async () => {
      while (next < schedules.length) {
        const i = next++;
        results[i] = await runOne(session, fuzzer, schedules[i]!);
      }
    }),
  );
  const replay = await replayHistories(results);
  for (const [i, error] of replay.errors) results[i]!.violations.push(`history does not replay: ${error}`);
  const books = await booksDiscrepancies(session);
  const failures: Failure[] = results
    .map((r, i) => ({ index: firstIndex + i, schedule: schedules[i]!, violations: r.violations }))
    .filter((f) => f.violations.length > 0);
  if (books.length > 0) {
    // Not one schedule's fault: reported against the batch's first schedule, shrunk from there.
    failures.push({
      index: firstIndex,
      schedule: schedules[0]!,
      violations: books.map((d) => `books: ${JSON.stringify(d)}`),
    });
  }
  const invariantChecks = results.reduce((sum, r) => sum + r.checks, 0) + replay.replayed + 1;
  return { results, failures, replayed: replay.replayed, invariantChecks };
}

/** Every recorded history replays on the workflow bundle the worker runs (one replay worker for all). */
async function replayHistories(
  results: ScenarioResult[],
): Promise<{ replayed: number; errors: Map<number, string> }> {
  const histories: { workflowId: string; history: temporal.api.history.v1.IHistory }[] = [];
  results.forEach((r, i) => {
    if (r.history) histories.push({ workflowId: String(i), history: r.history });
  });
  const errors = new Map<number, string>();
  if (histories.length === 0) return { replayed: 0, errors };
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: await workflowBundle() },
    histories,
  )) {
    if (result.error) errors.set(Number(result.workflowId), String(result.error));
  }
  return { replayed: histories.length, errors };
}

/** The reconciliation's books checks over the fuzzer's whole private wallet database. */
async function booksDiscrepancies(session: FuzzSession): Promise<Discrepancy[]> {
  const { db, mongo } = session.upstreams.wallet;
  const report = await createReconciliationService({ db, mongo }).run();
  return report.discrepancies.filter((d) => BOOKS_CHECKS.has(d.check));
}

export interface Shrunk<S extends Schedule = Schedule> {
  seed: number;
  path: string;
  schedule: S;
  violations: string[];
}

/**
 * Shrinks the failure at `index` of the run drawn with `seed`: fast-check replays its path and
 * tries smaller schedules one at a time, keeping the smallest that still breaks an invariant.
 */
export async function shrink<S extends Schedule>(
  session: FuzzSession,
  fuzzer: WorkflowFuzzer<S>,
  seed: number,
  index: number,
  timeLimitMs: number,
): Promise<Shrunk<S> | undefined> {
  let lastViolations: string[] = [];
  const details = await fc.check(
    fc.asyncProperty(fuzzer.arbitrary, async (schedule) => {
      const result = await runOne(session, fuzzer, schedule);
      const books = await booksDiscrepancies(session);
      const violations = [...result.violations, ...books.map((d) => `books: ${JSON.stringify(d)}`)];
      if (violations.length > 0) lastViolations = violations;
      return violations.length === 0;
    }),
    { seed, path: String(index), interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false },
  );
  if (!details.failed || !details.counterexample || details.counterexamplePath === null) return undefined;
  return {
    seed,
    path: details.counterexamplePath,
    schedule: details.counterexample[0],
    violations: lastViolations,
  };
}

/** Writes a shrunk failure as `<dir>/<name>.json`: seed, path and the schedule itself. */
export function writeCase(dir: string, name: string, shrunk: Shrunk, note: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ note, ...shrunk }, null, 2)}\n`);
  return file;
}
