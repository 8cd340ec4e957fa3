import { describe, expect, it } from 'vitest';
import { runOpenLoop, type Outcome } from './open-loop.js';

describe('runOpenLoop', () => {
  it('keeps sending on schedule while no answer has come back (unbounded in flight)', async () => {
    let sent = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const total = 20;
    const result = await runOpenLoop({
      rate: 200,
      durationMs: 100,
      send: async (): Promise<Outcome> => {
        // No request is answered before the last one has been sent.
        if (++sent === total) openGate();
        await gate;
        return { ok: true };
      },
    });
    expect(sent).toBe(total);
    expect(result.maxInFlight).toBe(total);
    expect(result.samples).toHaveLength(total);
    // Scheduled times follow the rate, not the answers: 5 ms apart.
    expect(result.samples.map((s) => s.scheduledMs)).toEqual(Array.from({ length: total }, (_, i) => i * 5));
    // The first request's latency counts from its scheduled time, so it includes the whole
    // time it waited for the gate (at least until the last request was due).
    const first = result.samples[0]!;
    expect(first.endMs - first.scheduledMs).toBeGreaterThanOrEqual(result.samples.at(-1)!.scheduledMs);
  });

  it('records failures and a send that throws as failed samples', async () => {
    const result = await runOpenLoop({
      rate: 100,
      durationMs: 50,
      send: async (i) => {
        if (i === 1) throw new Error('boom');
        return i === 2 ? { ok: false, error: 'http_500' } : { ok: true };
      },
    });
    expect(result.samples.map((s) => s.ok)).toEqual([true, false, false, true, true]);
    expect(result.samples[2]!.error).toBe('http_500');
    expect(result.samples[1]!.error).toMatch(/^bench_bug:boom/);
  });

  it('stops scheduling once the in-flight limit is reached', async () => {
    let release!: () => void;
    const never = new Promise<void>((resolve) => (release = resolve));
    const pending = runOpenLoop({
      rate: 1000,
      durationMs: 100,
      stopWhenInFlight: 10,
      send: async () => {
        await never;
        return { ok: true };
      },
    });
    setTimeout(release, 200);
    const result = await pending;
    expect(result.samples).toHaveLength(10);
  });
});
