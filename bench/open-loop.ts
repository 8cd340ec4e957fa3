/**
 * The open-loop load generator: request i is due at `i / rate` seconds after the step starts,
 * whether or not earlier requests have been answered (unbounded in flight), and its latency is
 * measured from that scheduled moment. A slow system therefore shows its queue in the
 * latencies instead of quietly slowing the generator down (no coordinated omission); if the
 * generator itself falls behind, that lag is reported and counted in the latencies too.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Sample } from './stats.js';

/** What one request turned out to be. */
export interface Outcome {
  ok: boolean;
  error?: string;
}

export interface OpenLoopResult {
  samples: Sample[];
  /** How late the generator sent requests compared to their schedule (ms, p99 and max). */
  sendLagP99: number;
  sendLagMax: number;
  /** Most requests in flight at once. */
  maxInFlight: number;
}

/**
 * Offers `rate` requests per second for `durationMs`, then waits for every outcome. `send`
 * must settle on its own (each request carries its own timeout) and never reject.
 */
export async function runOpenLoop(options: {
  rate: number;
  durationMs: number;
  send: (index: number) => Promise<Outcome>;
  /**
   * Stop scheduling once this many requests are in flight: the step has already shown it
   * cannot keep up, and a longer backlog only delays the next step.
   */
  stopWhenInFlight?: number;
}): Promise<OpenLoopResult> {
  const { rate, durationMs, send } = options;
  const stopAt = options.stopWhenInFlight ?? Infinity;
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const samples: Sample[] = [];
  const lags: number[] = [];
  const pending: Promise<void>[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const t0 = performance.now();
  for (let i = 0; i < total && inFlight < stopAt;) {
    const now = performance.now() - t0;
    // Send everything that is due; then sleep until the next request is due.
    while (i < total && i * interval <= now && inFlight < stopAt) {
      const scheduledMs = i * interval;
      lags.push(now - scheduledMs);
      const index = i;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.push(
        send(index).then(
          (outcome) => {
            inFlight--;
            samples[index] = { scheduledMs, endMs: performance.now() - t0, ...outcome };
          },
          (err: unknown) => {
            inFlight--;
            samples[index] = {
              scheduledMs,
              endMs: performance.now() - t0,
              ok: false,
              error: `bench_bug:${err instanceof Error ? err.message : String(err)}`.slice(0, 80),
            };
          },
        ),
      );
      i++;
    }
    if (i < total) await sleep(Math.max(0, i * interval - (performance.now() - t0)));
  }
  await Promise.all(pending);
  samples.length = pending.length;
  lags.sort((a, b) => a - b);
  return {
    samples,
    sendLagP99: Number((lags[Math.min(lags.length - 1, Math.ceil(lags.length * 0.99) - 1)] ?? 0).toFixed(1)),
    sendLagMax: Number((lags.at(-1) ?? 0).toFixed(1)),
    maxInFlight,
  };
}
