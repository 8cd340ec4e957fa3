import { describe, expect, it } from 'vitest';
import type { CpuSources } from './cpu.js';
import type { Outcome } from './open-loop.js';
import { runScenario, type ScenarioSpec, type Timing } from './scenario.js';

const TIMING: Timing = { warmupMs: 0, stepMs: 200, halfKneeMs: 100, settleMs: 0 };
const NO_PROCESSES: CpuSources = { pidDir: '/nonexistent', stackProcesses: [], databases: [] };
const quiet = () => undefined;

/** A system that refuses its first `cold` requests (a cold start), then answers at once. */
function spec(cold: number): ScenarioSpec & { sent: () => number } {
  let sent = 0;
  return {
    name: 'test',
    what: 'a request',
    plan: { start: 50, factor: 2, bisections: 0, min: 25, maxSteps: 2, decimals: 0 },
    criteria: { p99BoundMs: 1000 },
    send: async (): Promise<Outcome> => (++sent <= cold ? { ok: false, error: 'cold' } : { ok: true }),
    sent: () => sent,
  };
}

describe('runScenario', () => {
  it('runs a failing first step once more and counts the second run only', async () => {
    const s = spec(5);
    const result = await runScenario(s, TIMING, NO_PROCESSES, quiet);
    expect(result.repeated?.rate).toBe(50);
    expect(result.repeated?.pass).toBe(false);
    // Counted: 50/s kept up on its second run, so the search went on up instead of down.
    expect(result.steps.map((st) => [st.rate, st.pass])).toEqual([
      [50, true],
      [100, true],
    ]);
    expect(result.knee).toBe(100);
  });

  it('repeats only the first step, and a system that keeps failing still fails', async () => {
    const s = spec(Number.POSITIVE_INFINITY);
    const result = await runScenario(s, TIMING, NO_PROCESSES, quiet);
    expect(result.repeated?.rate).toBe(50);
    expect(result.steps.map((st) => [st.rate, st.pass])).toEqual([
      [50, false],
      [25, false],
    ]);
    expect(result.knee).toBeNull();
    // 50/s twice and 25/s once, each for 200 ms: nothing else was repeated.
    expect(s.sent()).toBe(10 + 10 + 5);
  });

  it('does not repeat a first step that kept up', async () => {
    const result = await runScenario(spec(0), TIMING, NO_PROCESSES, quiet);
    expect(result.repeated).toBeNull();
    expect(result.steps.map((st) => st.rate)).toEqual([50, 100]);
  });
});
