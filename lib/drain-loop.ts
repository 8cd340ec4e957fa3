/**
 * A queue drained in batches, in the background and on demand: the shape WalletService's outbox
 * relay and domain-event publisher share. `drainOnce` claims and handles one batch; the
 * background loop (lib/batch-loop.ts) runs it on a timer and on kicks, hands a failed batch to
 * `onError` with how many failed in a row, and, with `backoff`, lets the next attempt wait
 * `firstMs`, doubling with each failure in a row (ten times at most) up to `maxMs` (without it
 * the next tick or kick tries again). One successful background batch ends the run of failures.
 */
import { createBatchLoop, type BatchLoop } from './batch-loop.js';

/**
 * Lets the event loop run whatever is waiting (requests above all) before the caller goes on.
 * The drain loops share WalletService's event loop with the request path: a batch of 200 rows
 * turned into a thousand events or a half-megabyte MongoDB insert in one synchronous stretch held
 * every read behind it (a 2,000-row backlog: read p99 146 -> 740 ms), so their per-item work
 * pauses here every {@link YIELD_EVERY} items.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Items (events, documents, seals) a drain loop handles between two {@link yieldToEventLoop}. */
export const YIELD_EVERY = 25;

export interface DrainLoop extends BatchLoop {
  /** Handles one batch; returns how many items it claimed. Throws what the batch threw. */
  drainOnce(): Promise<number>;
  /** Handles batches until one finds nothing to claim; returns how many items in all. */
  drainAll(): Promise<number>;
}

export interface DrainLoopOptions {
  drainOnce: () => Promise<number>;
  /** A batch of this many items means more may be waiting: the loop runs again at once. */
  batchSize: number;
  /** A failed background batch (1 for the first failure after a success, 2 for the next…). */
  onError: (err: unknown, failuresInARow: number) => void;
  /** Wait after a failed background batch before the next attempt (none: the next tick or kick). */
  backoff?: { firstMs: number; maxMs: number };
}

export function createDrainLoop(options: DrainLoopOptions): DrainLoop {
  const { drainOnce, backoff } = options;
  let failuresInARow = 0;
  let nextAttemptAt = 0;
  const loop = createBatchLoop({
    runOnce: async () => {
      // Waits out the backoff: an outage costs one attempt per delay, not one per tick and kick.
      if (Date.now() < nextAttemptAt) return 0;
      const n = await drainOnce();
      failuresInARow = 0;
      return n;
    },
    batchSize: options.batchSize,
    onError: (err) => {
      failuresInARow++;
      if (backoff) {
        const delay = backoff.firstMs * 2 ** Math.min(failuresInARow - 1, 10);
        nextAttemptAt = Date.now() + Math.min(backoff.maxMs, delay);
      }
      options.onError(err, failuresInARow);
    },
  });
  return {
    drainOnce,
    async drainAll() {
      let total = 0;
      for (;;) {
        const n = await drainOnce();
        total += n;
        if (n === 0) return total;
      }
    },
    ...loop,
  };
}
