/**
 * A SAGA's compensation stack. Each compensation is registered *before* its step runs, so a
 * step that timed out after a partial effect is still undone; they run in reverse order in a
 * non-cancellable scope, so cancelling the workflow cannot interrupt an undo half-way.
 */
import { CancellationScope } from '@temporalio/workflow';

export interface Compensation {
  /** The step it undoes (shown in the workflow's view). */
  step: string;
  run: () => Promise<void>;
}

export interface CompensateHooks {
  /**
   * Called when a compensation failed after its activity's retries. Resolve to try it again;
   * reject to give up (the error propagates). Never swallows the failure silently.
   */
  stuck: (compensation: Compensation, err: unknown) => Promise<void>;
}

export class Saga {
  private readonly stack: Compensation[] = [];

  /** Registers the undo of a step that is about to run. */
  add(step: string, run: () => Promise<void>): void {
    this.stack.push({ step, run });
  }

  get size(): number {
    return this.stack.length;
  }

  /** Runs every registered compensation, last registered first, each until it succeeds. */
  async compensate(hooks: CompensateHooks): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      while (this.stack.length > 0) {
        const compensation = this.stack[this.stack.length - 1]!;
        for (;;) {
          try {
            await compensation.run();
            break;
          } catch (err) {
            await hooks.stuck(compensation, err);
          }
        }
        this.stack.pop();
      }
    });
  }
}
