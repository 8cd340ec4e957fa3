import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDrainLoop } from './drain-loop.js';

/** A drainOnce that answers from a script: a number of items, or an error to throw. */
function scripted(steps: (number | Error)[]) {
  const calls: number[] = [];
  return {
    calls,
    drainOnce: async () => {
      const step = steps.shift() ?? 0;
      calls.push(Date.now());
      if (step instanceof Error) throw step;
      return step;
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('drain loop', () => {
  it('drainAll handles batches until one is empty and returns the total', async () => {
    const q = scripted([10, 10, 3, 0, 7]);
    const loop = createDrainLoop({ drainOnce: q.drainOnce, batchSize: 10, onError: () => {} });
    expect(await loop.drainAll()).toBe(23);
    expect(q.calls).toHaveLength(4);
  });

  it('without backoff, the next kick retries a failed batch at once, each failure counted in its run', async () => {
    const q = scripted([new Error('away'), new Error('away'), 1, new Error('away'), 0]);
    const failures: number[] = [];
    const loop = createDrainLoop({
      drainOnce: q.drainOnce,
      batchSize: 10,
      onError: (_err, inARow) => failures.push(inARow),
    });
    loop.start(60_000); // no tick within the test: only start and the kicks run it
    for (let i = 0; i < 4; i++) {
      await vi.waitFor(() => expect(q.calls).toHaveLength(i + 1));
      loop.kick();
    }
    await vi.waitFor(() => expect(q.calls).toHaveLength(5));
    await loop.stop();
    // The success in between starts the count again.
    expect(failures).toEqual([1, 2, 1]);
  });

  it('with backoff, attempts after failures wait firstMs, doubling, up to maxMs; a success resets it', async () => {
    vi.useFakeTimers({ now: 0 });
    const away = new Error('broker away');
    const q = scripted([away, away, away, away, 5, away, 0]);
    const failures: number[] = [];
    const loop = createDrainLoop({
      drainOnce: q.drainOnce,
      batchSize: 10,
      backoff: { firstMs: 100, maxMs: 300 },
      onError: (_err, inARow) => failures.push(inARow),
    });
    loop.start(10); // ticks every 10 ms: most of them find the backoff not over
    await vi.advanceTimersByTimeAsync(1_010);
    await loop.stop();
    // Failures at 0, then waits of 100, 200, 300 (capped), 300; the success at 900 resets: the
    // failure at the next tick waits 100 again (no attempt at 1000), and an empty batch is no error.
    expect(q.calls).toEqual([0, 100, 300, 600, 900, 910, 1_010]);
    expect(failures).toEqual([1, 2, 3, 4, 1]);
  });
});
