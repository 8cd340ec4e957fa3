import { describe, expect, it } from 'vitest';
import { judgeStep, kneeOf, nextRate, percentile, type Sample, type SearchPlan } from './stats.js';

/** `n` requests at `rate`/s, each answered `latency(i)` ms after its scheduled time. */
function samples(rate: number, seconds: number, latency: (i: number) => number, ok = () => true): Sample[] {
  return Array.from({ length: rate * seconds }, (_, i) => {
    const scheduledMs = (i * 1000) / rate;
    return { scheduledMs, endMs: scheduledMs + latency(i), ok: ok() };
  });
}

const plan: SearchPlan = { start: 10, factor: 2, bisections: 2, min: 1, maxSteps: 9, decimals: 0 };

describe('percentile', () => {
  it('is the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile(sorted, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
    // Nearest rank rounds the rank up: never an interpolated value, never a rank too low.
    expect(percentile([1, 2, 3], 0.5)).toBe(2);
    expect(
      percentile(
        Array.from({ length: 10 }, (_, i) => i + 1),
        0.95,
      ),
    ).toBe(10);
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('judgeStep', () => {
  const criteria = { p99BoundMs: 100 };

  it('passes a step whose latencies stay flat and low', () => {
    const v = judgeStep(
      samples(50, 10, () => 20),
      { rate: 50, durationMs: 10_000 },
      criteria,
    );
    expect(v.pass).toBe(true);
    expect(v.achieved).toBe(50);
    expect(v.p99).toBe(20);
  });

  it('measures latency from the schedule, so a backlog shows even when each service time is short', () => {
    // A server that handles one request per 25 ms while 50/s arrive (one per 20 ms): request i
    // finishes at 25·(i+1) ms, so its wait since its scheduled time grows by 5 ms per request.
    const v = judgeStep(
      samples(50, 10, (i) => 25 * (i + 1) - i * 20),
      { rate: 50, durationMs: 10_000 },
      criteria,
    );
    expect(v.pass).toBe(false);
    expect(v.p99).toBeGreaterThan(2000);
    expect(v.reasons.join(' ')).toMatch(/p99/);
  });

  it('fails a step that leaves a backlog behind even when p99 is just under the bound', () => {
    const v = judgeStep(
      samples(10, 10, (i) => (i < 50 ? 10 : 95)),
      { rate: 10, durationMs: 10_000 },
      { p99BoundMs: 100 },
    );
    // Latency from 10 to 95 ms through the step: under the bound, but climbing.
    expect(v.pass).toBe(false);
    expect(v.reasons.join(' ')).toMatch(/climbing/);
  });

  it('fails a step with more than 1 % errors', () => {
    let n = 0;
    const v = judgeStep(
      samples(
        10,
        10,
        () => 5,
        () => n++ % 10 !== 0,
      ),
      { rate: 10, durationMs: 10_000 },
      criteria,
    );
    expect(v.pass).toBe(false);
    expect(v.ok).toBe(90);
    expect(v.reasons.join(' ')).toMatch(/10 of 100 failed/);
  });

  it('counts unfinished work at the end of the step', () => {
    // Every request of the last 20 % is answered 5 s late: at the step's end + 2 s they are
    // still outstanding, so completions did not keep up with arrivals.
    const v = judgeStep(
      samples(10, 10, (i) => (i >= 80 ? 5000 : 10)),
      { rate: 10, durationMs: 10_000 },
      { p99BoundMs: 2000 },
    );
    expect(v.onTime).toBe(0.8);
    expect(v.pass).toBe(false);
    expect(v.reasons.join(' ')).toMatch(/80 % done by the step's end/);
  });
});

describe('the knee search', () => {
  const step = (rate: number, pass: boolean) => ({ rate, pass });

  it('doubles while steps pass, then bisects twice between the last pass and the first failure', () => {
    expect(nextRate([], plan)).toBe(10);
    expect(nextRate([step(10, true)], plan)).toBe(20);
    expect(nextRate([step(10, true), step(20, true)], plan)).toBe(40);
    const afterFail = [step(10, true), step(20, true), step(40, false)];
    expect(nextRate(afterFail, plan)).toBe(28); // √(20·40)
    const bisected = [...afterFail, step(28, true)];
    expect(nextRate(bisected, plan)).toBe(33); // √(28·40)
    expect(nextRate([...bisected, step(33, false)], plan)).toBeUndefined();
  });

  it('goes down from the start when even the start fails, and stops at the minimum', () => {
    expect(nextRate([step(10, false)], plan)).toBe(5);
    expect(nextRate([step(10, false), step(5, false), step(3, false), step(1, false)], plan)).toBeUndefined();
    // Once a lower rate passes, bisection starts between it and the lowest failure.
    expect(nextRate([step(10, false), step(5, true)], plan)).toBe(7);
  });

  it('the knee is the highest passing rate below the lowest failing one', () => {
    expect(kneeOf([step(10, true), step(20, true), step(40, false), step(28, true), step(33, false)])).toBe(
      28,
    );
    // A noisy pass above a failure does not count.
    expect(kneeOf([step(10, true), step(20, false), step(40, true)])).toBe(10);
    expect(kneeOf([step(10, false)])).toBeUndefined();
  });

  it('never runs more than maxSteps', () => {
    const steps = Array.from({ length: 9 }, (_, i) => step(10 * 2 ** i, true));
    expect(nextRate(steps, plan)).toBeUndefined();
  });
});
