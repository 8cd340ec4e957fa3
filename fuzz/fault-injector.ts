/**
 * Puts a fault schedule around the real activities: each activity call of a workflow gets the
 * outcome its schedule lists (by workflow id, activity and call number), the real activity
 * does the real work against AuthService and WalletService. Every outcome drawn is counted, so
 * the run's summary can say which faults were exercised.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Outcome, OutcomeKind } from './fault-schedule.js';

/** Failure type of an injected outage: `upstream_unavailable`, as the real activities report. */
const OUTAGE = 'upstream_unavailable';

interface Plan {
  faults: Partial<Record<string, Outcome[]>>;
  /** Calls started so far, per activity. */
  calls: Map<string, number>;
  /** Once healed, every call is real: the harness fixed the fault before finishing a parked run. */
  healed: boolean;
}

export interface FaultInjector {
  /** Wraps the activities; the ones named in a plan get its outcomes, the rest run untouched. */
  wrap<T extends object>(activities: T): T;
  /** Registers a workflow's faults before it starts. */
  plan(workflowId: string, faults: Partial<Record<string, Outcome[]>>): void;
  /** From now on this workflow's calls are real (the fault is fixed). */
  heal(workflowId: string): void;
  forget(workflowId: string): void;
  /** Outcomes drawn so far, by `<activity>:<kind>`. */
  readonly covered: Map<string, number>;
}

export function createFaultInjector(): FaultInjector {
  const plans = new Map<string, Plan>();
  const covered = new Map<string, number>();

  const count = (activity: string, kind: OutcomeKind) => {
    const key = `${activity}:${kind}`;
    covered.set(key, (covered.get(key) ?? 0) + 1);
  };

  /** The outcome of the running attempt's call; a first attempt starts the next call. */
  function outcomeOf(plan: Plan, activity: string, attempt: number): Outcome {
    if (attempt === 1) plan.calls.set(activity, (plan.calls.get(activity) ?? 0) + 1);
    const call = plan.calls.get(activity) ?? 1;
    if (plan.healed) return { kind: 'ok' };
    const outcome = plan.faults[activity]?.[call - 1] ?? { kind: 'ok' };
    if (attempt === 1) count(activity, outcome.kind);
    return outcome;
  }

  const outage = (activity: string, what: string, attempt: number) =>
    ApplicationFailure.create({
      message: `fuzz: ${what} in ${activity}`,
      type: OUTAGE,
      details: [{ attempt }],
    });

  async function around(activity: string, run: () => Promise<unknown>): Promise<unknown> {
    const info = Context.current().info;
    const workflowId = info.workflowExecution?.workflowId ?? '';
    const plan = plans.get(workflowId);
    if (!plan) return run();
    const { attempt } = info;
    const outcome = outcomeOf(plan, activity, attempt);
    switch (outcome.kind) {
      case 'ok':
        return run();
      case 'retryable':
        if (attempt <= outcome.times) throw outage(activity, `outage ${attempt}/${outcome.times}`, attempt);
        return run();
      case 'lost_after':
        if (attempt === 1) {
          await run();
          throw outage(activity, 'answer lost after the work (timeout)', attempt);
        }
        return run();
      case 'lost_before':
        if (attempt === 1) throw outage(activity, 'timed out before the request', attempt);
        return run();
      case 'refusal':
        throw ApplicationFailure.create({
          message: `fuzz: ${activity} refused ${outcome.code}`,
          type: outcome.code,
          nonRetryable: true,
          details: [{ attempt }],
        });
      case 'crash':
        if (attempt === 1) {
          if (outcome.after_work) await run();
          // The attempt's result is lost with the worker: nothing of it reaches the history,
          // and the call runs again (docs/reliability.md, "Worker crash mid-call").
          throw ApplicationFailure.create({
            message: `fuzz: worker crashed during ${activity} (${outcome.after_work ? 'after' : 'before'} the request)`,
            type: OUTAGE,
            details: [{ attempt }],
          });
        }
        return run();
      case 'down':
        // Re-read on every attempt: healing ends the outage within the same round.
        if (!plans.get(workflowId)?.healed) {
          throw outage(activity, 'upstream down', attempt);
        }
        return run();
    }
  }

  return {
    covered,
    wrap<T extends object>(activities: T): T {
      const wrapped: Record<string, unknown> = {};
      for (const [name, fn] of Object.entries(activities) as [
        string,
        (...args: unknown[]) => Promise<unknown>,
      ][]) {
        wrapped[name] = (...args: unknown[]) => around(name, () => fn(...args));
      }
      return wrapped as T;
    },
    plan(workflowId, faults) {
      plans.set(workflowId, { faults, calls: new Map(), healed: false });
    },
    heal(workflowId) {
      const plan = plans.get(workflowId);
      if (plan) plan.healed = true;
    },
    forget(workflowId) {
      plans.delete(workflowId);
    },
  };
}
