/**
 * A campaign: `runs` schedules drawn from one seed, run in batches many at a time, summed up
 * into the figures docs/reliability.md reports (schedules, outcomes covered per kind, invariant
 * checks, failures, wall time). Used by `npm run fuzz` and the bounded test alike.
 */
import fc from 'fast-check';
import { OUTCOME_KINDS, type OutcomeKind } from './fault-schedule.js';
import type { Schedule, WorkflowFuzzer } from './fuzzer.js';
import { runBatch, type Failure, type FuzzSession } from './fuzz-session.js';

export interface CampaignOptions {
  seed: number;
  runs: number;
  /** Schedules running at the same time. */
  concurrency: number;
  /** Schedules per batch: after each, the histories are replayed and the books checked. */
  batchSize: number;
  /** Stop at the first batch with a failure (the bounded test); the CLI runs them all. */
  stopOnFailure?: boolean;
  progress?: (line: string) => void;
}

export interface CampaignSummary {
  workflow: string;
  seed: number;
  schedules: number;
  /** How the runs ended (`completed`, `failed`, `cancelled`, `terminated`…). */
  ended: Record<string, number>;
  /** Runs that waited in `needs_attention` at least once. */
  parked: number;
  /** Outcomes drawn, by kind, and by activity and kind. */
  outcomes: Record<OutcomeKind, number>;
  outcomesByActivity: Record<string, number>;
  /** Messages sent, by `<message>:<accepted|refused>`. */
  messages: Record<string, number>;
  invariantChecks: number;
  historiesReplayed: number;
  failures: Failure[];
  wallTimeMs: number;
}

export async function runCampaign<S extends Schedule>(
  session: FuzzSession,
  fuzzer: WorkflowFuzzer<S>,
  options: CampaignOptions,
): Promise<CampaignSummary> {
  const started = Date.now();
  const schedules = fc.sample(fuzzer.arbitrary, { seed: options.seed, numRuns: options.runs });
  const summary: CampaignSummary = {
    workflow: fuzzer.workflow,
    seed: options.seed,
    schedules: 0,
    ended: {},
    parked: 0,
    outcomes: Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Record<OutcomeKind, number>,
    outcomesByActivity: {},
    messages: {},
    invariantChecks: 0,
    historiesReplayed: 0,
    failures: [],
    wallTimeMs: 0,
  };
  const coveredBefore = new Map(session.injector.covered);
  for (let first = 0; first < schedules.length; first += options.batchSize) {
    const batch = schedules.slice(first, first + options.batchSize);
    const report = await runBatch(session, fuzzer, batch, options.concurrency, first);
    summary.schedules += batch.length;
    summary.invariantChecks += report.invariantChecks;
    summary.historiesReplayed += report.replayed;
    summary.failures.push(...report.failures);
    for (const r of report.results) {
      summary.ended[r.ended] = (summary.ended[r.ended] ?? 0) + 1;
      if (r.parked) summary.parked += 1;
      for (const m of r.messages) summary.messages[m] = (summary.messages[m] ?? 0) + 1;
    }
    // A failure is printed as its batch ends, so a run stopped early still shows what it found.
    for (const f of report.failures)
      options.progress?.(`schedule ${f.index} failed: ${f.violations.join('; ')}`);
    options.progress?.(
      `${summary.schedules}/${schedules.length} schedules, ${summary.failures.length} failing, ${Math.round((Date.now() - started) / 1000)} s`,
    );
    if (options.stopOnFailure && report.failures.length > 0) break;
  }
  for (const [key, n] of session.injector.covered) {
    const drawn = n - (coveredBefore.get(key) ?? 0);
    if (drawn === 0) continue;
    summary.outcomesByActivity[key] = drawn;
    const kind = key.split(':')[1] as OutcomeKind;
    summary.outcomes[kind] += drawn;
  }
  summary.wallTimeMs = Date.now() - started;
  return summary;
}

/** The summary as the lines `npm run fuzz` prints. */
export function formatSummary(s: CampaignSummary): string {
  const list = (r: Record<string, number>) =>
    Object.entries(r)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  return [
    `workflow ${s.workflow}, seed ${s.seed}: ${s.schedules} schedules in ${(s.wallTimeMs / 1000).toFixed(0)} s`,
    `ended: ${list(s.ended)}; parked in needs_attention at least once: ${s.parked}`,
    `outcomes drawn: ${list(s.outcomes)}`,
    `  by activity: ${list(s.outcomesByActivity)}`,
    `messages: ${list(s.messages)}`,
    `invariant checks: ${s.invariantChecks} (histories replayed: ${s.historiesReplayed})`,
    `failures: ${s.failures.length}`,
    ...s.failures.map((f) => `  schedule ${f.index}: ${f.violations.join('; ')}`),
  ].join('\n');
}
