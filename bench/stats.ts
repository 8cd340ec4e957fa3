/**
 * The pure arithmetic of the benchmark: percentiles, the verdict on one step of offered load,
 * the next rate to try and the knee. No I/O here, so `stats.test.ts` pins it down.
 */

/** One request of an open-loop step. Times are milliseconds since the step's start. */
export interface Sample {
  /** When the schedule said to send it (not when it was actually sent). */
  scheduledMs: number;
  /** When its outcome was observed (terminal for transfers, the response for reads). */
  endMs: number;
  ok: boolean;
  /** Short failure class (`http_429`, `timeout`, `failed:insufficient_funds`, …). */
  error?: string;
}

/** Nearest-rank percentile (q in 0..1) of an ascending array; NaN for an empty one. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Latencies (end − scheduled, so time spent waiting to be sent counts) in ascending order. */
export function latencies(samples: readonly Sample[]): number[] {
  return samples.map((s) => s.endMs - s.scheduledMs).sort((a, b) => a - b);
}

/** What a step must show to count as "keeping up". */
export interface KneeCriteria {
  /** p99 latency of successful requests must stay at or under this. */
  p99BoundMs: number;
  /** Share of requests that must succeed (default 0.99). */
  minSuccess?: number;
  /**
   * Share of the step's requests that must have finished by the step's end plus `p99BoundMs`:
   * a backlog left behind means arrivals outran completions (default 0.99).
   */
  minOnTime?: number;
}

export interface StepVerdict {
  rate: number;
  durationMs: number;
  sent: number;
  ok: number;
  errors: Record<string, number>;
  /** Successful completions per second over the step (ok / duration). */
  achieved: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** p90 of the first and the last third of the step: a queue that builds shows here. */
  p90First: number;
  p90Last: number;
  onTime: number;
  pass: boolean;
  /** Why the step failed, in words (empty when it passed). */
  reasons: string[];
}

const round = (n: number, digits = 1) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);

/**
 * Judges one open-loop step: it passes when (a) at least `minSuccess` of the requests
 * succeeded, (b) at least `minOnTime` of them finished by the end of the step plus the p99
 * bound (completions kept up with arrivals), (c) p99 ≤ the bound and (d) latency did not keep
 * climbing through the step (p90 of the last third ≤ 2 × p90 of the first third + a quarter of
 * the bound), which catches a queue that is still short but growing.
 */
export function judgeStep(
  samples: readonly Sample[],
  step: { rate: number; durationMs: number },
  criteria: KneeCriteria,
): StepVerdict {
  const minSuccess = criteria.minSuccess ?? 0.99;
  const minOnTime = criteria.minOnTime ?? 0.99;
  const okSamples = samples.filter((s) => s.ok);
  const lat = latencies(okSamples);
  const errors: Record<string, number> = {};
  for (const s of samples) if (!s.ok) errors[s.error ?? 'error'] = (errors[s.error ?? 'error'] ?? 0) + 1;
  const third = step.durationMs / 3;
  const first = latencies(okSamples.filter((s) => s.scheduledMs < third));
  const last = latencies(okSamples.filter((s) => s.scheduledMs >= 2 * third));
  const deadline = step.durationMs + criteria.p99BoundMs;
  const onTimeCount = samples.filter((s) => s.ok && s.endMs <= deadline).length;
  const sent = samples.length;
  const verdict: StepVerdict = {
    rate: step.rate,
    durationMs: step.durationMs,
    sent,
    ok: okSamples.length,
    errors,
    achieved: round(okSamples.length / (step.durationMs / 1000)),
    p50: round(percentile(lat, 0.5)),
    p90: round(percentile(lat, 0.9)),
    p99: round(percentile(lat, 0.99)),
    max: round(lat.at(-1) ?? Number.NaN),
    p90First: round(percentile(first, 0.9)),
    p90Last: round(percentile(last, 0.9)),
    onTime: sent === 0 ? 0 : round(onTimeCount / sent, 3),
    pass: false,
    reasons: [],
  };
  const r = verdict.reasons;
  if (sent === 0) r.push('nothing was sent');
  if (sent > 0 && okSamples.length / sent < minSuccess)
    r.push(`${sent - okSamples.length} of ${sent} failed`);
  if (sent > 0 && onTimeCount / sent < minOnTime)
    r.push(
      `only ${Math.round((onTimeCount / sent) * 100)} % done by the step's end + ${criteria.p99BoundMs} ms`,
    );
  if (!(verdict.p99 <= criteria.p99BoundMs)) r.push(`p99 ${verdict.p99} ms > ${criteria.p99BoundMs} ms`);
  if (verdict.p90Last > 2 * verdict.p90First + criteria.p99BoundMs / 4)
    r.push(`latency climbing (p90 ${verdict.p90First} → ${verdict.p90Last} ms)`);
  verdict.pass = r.length === 0;
  return verdict;
}

/** How the stepped search moves: geometric growth until a step fails, then bisection. */
export interface SearchPlan {
  start: number;
  /** Growth factor between steps while every step passes (> 1). */
  factor: number;
  /** Bisection steps between the last passing and the first failing rate. */
  bisections: number;
  /** Lowest rate worth trying when even the start fails. */
  min: number;
  /** Hard cap on steps (the search stops, whatever it knows by then). */
  maxSteps: number;
  /** Rates are rounded to this many decimals. */
  decimals: number;
}

/** The highest passing rate below the lowest failing one (undefined if none passed). */
export function kneeOf(steps: readonly Pick<StepVerdict, 'rate' | 'pass'>[]): number | undefined {
  const lowestFail = Math.min(...steps.filter((s) => !s.pass).map((s) => s.rate));
  const passing = steps.filter((s) => s.pass && s.rate < lowestFail).map((s) => s.rate);
  return passing.length === 0 ? undefined : Math.max(...passing);
}

/**
 * The next offered rate to try after `steps`, or undefined when the search is done. Grows by
 * `factor` while every step passes; after the first failure bisects (geometric mean) between
 * the knee so far and the lowest failing rate; if nothing passed, shrinks by `factor` down to
 * `min`. Stops after `maxSteps` or when the next rate would repeat one already measured.
 */
export function nextRate(
  steps: readonly Pick<StepVerdict, 'rate' | 'pass'>[],
  plan: SearchPlan,
): number | undefined {
  const roundRate = (n: number) => Number(n.toFixed(plan.decimals));
  if (steps.length === 0) return roundRate(plan.start);
  if (steps.length >= plan.maxSteps) return undefined;
  const failing = steps.filter((s) => !s.pass).map((s) => s.rate);
  const knee = kneeOf(steps);
  let next: number;
  if (failing.length === 0) {
    next = Math.max(...steps.map((s) => s.rate)) * plan.factor;
  } else if (knee === undefined) {
    const lowest = Math.min(...steps.map((s) => s.rate));
    if (lowest <= plan.min) return undefined;
    next = Math.max(plan.min, lowest / plan.factor);
  } else {
    const bisected = steps.length - bracketedAt(steps) - 1;
    if (bisected >= plan.bisections) return undefined;
    next = Math.sqrt(knee * Math.min(...failing));
  }
  const rounded = roundRate(next);
  if (steps.some((s) => s.rate === rounded)) return undefined;
  return rounded;
}

/** Index of the step after which the knee was first bracketed (a pass and a fail seen). */
function bracketedAt(steps: readonly Pick<StepVerdict, 'pass'>[]): number {
  let passed = false;
  let failed = false;
  for (const [i, s] of steps.entries()) {
    if (s.pass) passed = true;
    else failed = true;
    if (passed && failed) return i;
  }
  return steps.length - 1;
}
