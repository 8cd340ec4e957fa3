/**
 * A background job that works through a queue in batches: every `intervalMs` and whenever it is
 * kicked (after a commit that queued work). One run at a time; a kick during a run asks for one
 * more run, and a full batch is followed at once by the next, so a backlog drains without
 * waiting for the timer. WalletService's outbox relay and journal sealer share it.
 */
export interface BatchLoop {
  /** Starts the timer and runs once now. Kicks before `start` (or after `stop`) do nothing. */
  start: (intervalMs: number) => void;
  /** Runs now, or once more after the run in progress. */
  kick: () => void;
  /** Stops the timer and waits for the run in progress. */
  stop: () => Promise<void>;
}

export interface BatchLoopOptions {
  /** Works one batch; returns how many items it handled. */
  runOnce: () => Promise<number>;
  /** A batch of this many items means more may be waiting: run again at once. */
  batchSize: number;
  /** A failed batch is reported here and retried on the next tick or kick. */
  onError: (err: unknown) => void;
}

export function createBatchLoop(options: BatchLoopOptions): BatchLoop {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;

  async function loop(): Promise<void> {
    do {
      again = false;
      try {
        while ((await options.runOnce()) === options.batchSize && !stopped);
      } catch (err) {
        options.onError(err);
      }
    } while (again && !stopped);
  }

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = loop().finally(() => {
      running = undefined;
    });
  }

  return {
    start(intervalMs) {
      stopped = false;
      timer = setInterval(kick, intervalMs);
      timer.unref();
      kick();
    },
    kick,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
