import { describe, expect, it, vi } from 'vitest';
import { createBatchLoop } from './batch-loop.js';

/** A queue of `n` items worked `size` at a time, recording each batch. */
function queue(n: number, size: number) {
  let left = n;
  const batches: number[] = [];
  return {
    batches,
    left: () => left,
    add: (k: number) => {
      left += k;
    },
    runOnce: async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const taken = Math.min(size, left);
      left -= taken;
      batches.push(taken);
      return taken;
    },
  };
}

describe('batch loop', () => {
  it('does nothing when kicked before start, then drains a backlog in full batches at once', async () => {
    const q = queue(25, 10);
    const loop = createBatchLoop({ runOnce: q.runOnce, batchSize: 10, onError: () => {} });
    loop.kick();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(q.batches).toEqual([]);
    loop.start(60_000); // the timer never fires within the test: only the full batches chain
    await vi.waitFor(() => expect(q.left()).toBe(0));
    await loop.stop();
    expect(q.batches).toEqual([10, 10, 5]);
  });

  it('stops after the batch in progress', async () => {
    const q = queue(25, 10);
    const loop = createBatchLoop({ runOnce: q.runOnce, batchSize: 10, onError: () => {} });
    loop.start(60_000);
    await loop.stop();
    expect(q.batches).toEqual([10]);
  });

  it('runs once more when kicked during a run, and keeps going after a failed batch', async () => {
    const q = queue(3, 10);
    const errors: unknown[] = [];
    let fail = true;
    const loop = createBatchLoop({
      runOnce: async () => {
        if (fail) {
          fail = false;
          throw new Error('database away');
        }
        return q.runOnce();
      },
      batchSize: 10,
      onError: (err) => errors.push(err),
    });
    loop.start(60_000);
    loop.kick(); // during the failing run: one more run follows it
    await new Promise((resolve) => setTimeout(resolve, 30));
    await loop.stop();
    expect(errors).toHaveLength(1);
    expect(q.left()).toBe(0);
    loop.kick(); // after stop: nothing runs
    q.add(4);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(q.left()).toBe(4);
  });

  it('runs on its timer', async () => {
    const q = queue(0, 10);
    const loop = createBatchLoop({ runOnce: q.runOnce, batchSize: 10, onError: () => {} });
    loop.start(5);
    await new Promise((resolve) => setTimeout(resolve, 10));
    q.add(3);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await loop.stop();
    expect(q.left()).toBe(0);
  });
});
