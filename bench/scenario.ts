/**
 * Runs one scenario: a warm-up, then open-loop steps chosen by `nextRate` until the knee is
 * bracketed, then a longer step at half the knee (the operating point whose p50/p99 we report).
 * CPU per process is recorded for every step. A first step that fails is run once more: a
 * freshly started stack (the Temporal dev server above all) can fail its first step on its
 * cold start alone, and counting that would send the search down and understate the knee.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startCpuMeter, type CpuReport, type CpuSources } from './cpu.js';
import { runOpenLoop, type Outcome } from './open-loop.js';
import {
  judgeStep,
  kneeOf,
  nextRate,
  type KneeCriteria,
  type SearchPlan,
  type StepVerdict,
} from './stats.js';

export interface Timing {
  warmupMs: number;
  stepMs: number;
  halfKneeMs: number;
  /** Pause between steps, for queues behind the answers (outbox, timers) to settle. */
  settleMs: number;
}

export interface ScenarioSpec {
  name: string;
  /** One line on what a request is and when it counts as done. */
  what: string;
  plan: SearchPlan;
  criteria: KneeCriteria;
  send: (index: number) => Promise<Outcome>;
}

export interface StepRecord extends StepVerdict {
  cpu: CpuReport;
  sendLagP99: number;
  maxInFlight: number;
  /** The step was cut short: too many requests in flight to be keeping up. */
  stoppedEarly: boolean;
}

export interface ScenarioResult {
  name: string;
  what: string;
  criteria: KneeCriteria;
  knee: number | null;
  steps: StepRecord[];
  halfKnee: StepRecord | null;
  warmup: StepRecord | null;
  /** The first judged step when it failed and was run again (not counted in the search). */
  repeated: StepRecord | null;
  notes: string[];
}

/** One step at `rate`; it stops scheduling early once in-flight requests prove it cannot keep up. */
export async function runStep(
  spec: ScenarioSpec,
  rate: number,
  durationMs: number,
  cpuSources: CpuSources,
  judge = true,
): Promise<StepRecord> {
  // Little's law: keeping up at `rate` with latency ≤ bound means ≤ rate × bound in flight.
  const limit = Math.ceil(2 * rate * (spec.criteria.p99BoundMs / 1000)) + 20;
  const meter = startCpuMeter(cpuSources);
  const run = await runOpenLoop({ rate, durationMs, send: spec.send, stopWhenInFlight: limit });
  const cpu = meter.stop();
  const verdict = judgeStep(run.samples, { rate, durationMs }, spec.criteria);
  const stoppedEarly = run.samples.length < Math.round((rate * durationMs) / 1000);
  if (stoppedEarly) {
    verdict.pass = false;
    verdict.reasons.unshift(`stopped early with ${limit} in flight`);
  }
  if (!judge) verdict.pass = true;
  return { ...verdict, cpu, sendLagP99: run.sendLagP99, maxInFlight: run.maxInFlight, stoppedEarly };
}

export async function runScenario(
  spec: ScenarioSpec,
  timing: Timing,
  cpuSources: CpuSources,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const result: ScenarioResult = {
    name: spec.name,
    what: spec.what,
    criteria: spec.criteria,
    knee: null,
    steps: [],
    halfKnee: null,
    warmup: null,
    repeated: null,
    notes: [],
  };
  const show = (label: string, s: StepRecord) =>
    log(
      `  ${label.padEnd(9)} ${String(s.rate).padStart(7)}/s  achieved ${String(s.achieved).padStart(7)}/s  ` +
        `p50 ${s.p50} ms  p99 ${s.p99} ms  ${s.pass ? 'ok' : `NO: ${s.reasons.join('; ')}`}`,
    );
  log(`${spec.name}: ${spec.what}`);
  if (timing.warmupMs > 0) {
    const rate = Number(Math.max(spec.plan.min, spec.plan.start / 2).toFixed(spec.plan.decimals));
    result.warmup = await runStep(spec, rate, timing.warmupMs, cpuSources, false);
    show('warm-up', result.warmup);
    await sleep(timing.settleMs);
  }
  for (let rate = nextRate([], spec.plan); rate !== undefined; rate = nextRate(result.steps, spec.plan)) {
    let step = await runStep(spec, rate, timing.stepMs, cpuSources);
    if (result.steps.length === 0 && result.repeated === null && !step.pass) {
      result.repeated = step;
      show('repeated', step);
      await sleep(timing.settleMs);
      step = await runStep(spec, rate, timing.stepMs, cpuSources);
    }
    result.steps.push(step);
    show('step', step);
    await sleep(timing.settleMs);
  }
  const knee = kneeOf(result.steps);
  result.knee = knee ?? null;
  if (knee === undefined) {
    result.notes.push(`no step passed, down to ${spec.plan.min}/s`);
    return result;
  }
  const half = Number((knee / 2).toFixed(spec.plan.decimals)) || knee / 2;
  result.halfKnee = await runStep(spec, half, timing.halfKneeMs, cpuSources);
  show('half knee', result.halfKnee);
  await sleep(timing.settleMs);
  return result;
}

/** The verdicts only (for kneeOf in reports and tests). */
export function verdicts(steps: readonly StepRecord[]): Pick<StepVerdict, 'rate' | 'pass'>[] {
  return steps.map((s) => ({ rate: s.rate, pass: s.pass }));
}
