/**
 * The `hold-expiry` Temporal Schedule: starts holdExpiryWorkflow every minute. It is declared
 * here, once — interval, task queue, run timeout — and every worker converges the server to this
 * declaration at start: created when missing, updated only when it differs, left alone
 * otherwise. A worker never points it at its own task queue, so an isolated worker pool (tests,
 * a canary) cannot steal the sweep from the production queue.
 */
import { ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { TASK_QUEUE } from '../temporal-config/index.js';
import { HOLD_EXPIRY_SCHEDULE_ID, holdExpiryWorkflow } from '../workflows/hold-expiry-workflow.js';
import { convergeSchedule, type ConvergeOutcome, type ScheduleDeps } from './converge-schedule.js';

/** A duration in seconds or minutes, as Temporal's options take it. */
type Duration = `${number}${'s' | 'm'}`;

/** What the hold-expiry schedule is. */
export interface HoldExpirySpec {
  scheduleId: string;
  /** How often a sweep starts. */
  every: Duration;
  /** The queue the production workers poll (the sweep's activity calls WalletService). */
  taskQueue: string;
  /**
   * How long one sweep may run before Temporal closes it as timed out. Overlap is SKIP, so
   * without it one stuck run (no worker polling, a wedged workflow task) would skip every later
   * sweep, for good; with it the next sweep starts at most this long after the stuck one.
   * Above the sweep activity's 55 s schedule-to-close, so a slow healthy sweep finishes.
   */
  runTimeout: Duration;
}

/** The declaration the workers converge to. */
export const HOLD_EXPIRY_SCHEDULE: HoldExpirySpec = {
  scheduleId: HOLD_EXPIRY_SCHEDULE_ID,
  every: '1m',
  taskQueue: TASK_QUEUE,
  runTimeout: '2m',
};

export function holdExpirySchedule(spec: HoldExpirySpec = HOLD_EXPIRY_SCHEDULE): ScheduleOptions {
  return {
    scheduleId: spec.scheduleId,
    spec: { intervals: [{ every: spec.every }] },
    action: {
      type: 'startWorkflow',
      workflowType: holdExpiryWorkflow,
      workflowId: spec.scheduleId,
      taskQueue: spec.taskQueue,
      workflowRunTimeout: spec.runTimeout,
      staticSummary: 'Expire holds past their expires_at (frees funds of abandoned transfers)',
    },
    // A sweep still running when the next one is due: skip, never pile up (the run timeout
    // bounds how long one run can skip the others).
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
    memo: { purpose: 'hold expiry sweep' },
  };
}

/** True when the schedule on the server already is the declared one. */
function matches(described: ScheduleDescription, spec: HoldExpirySpec): boolean {
  const action = described.action;
  return (
    action.type === 'startWorkflow' &&
    action.workflowType === holdExpiryWorkflow.name &&
    action.taskQueue === spec.taskQueue &&
    action.workflowRunTimeout !== undefined &&
    msToNumber(action.workflowRunTimeout) === msToNumber(spec.runTimeout) &&
    described.spec.intervals?.length === 1 &&
    msToNumber(described.spec.intervals[0]!.every) === msToNumber(spec.every) &&
    !described.spec.calendars?.length &&
    described.policies.overlap === ScheduleOverlapPolicy.SKIP
  );
}

/**
 * Makes the server's schedule the declared one: creates it, or updates it when it differs
 * (keeping its paused state and notes: pausing is an operator's call), or creates it again when
 * this worker's payload keys cannot read it. Any number of workers may call this at once; they
 * all write the same declaration.
 */
export async function ensureHoldExpirySchedule(
  deps: ScheduleDeps,
  spec: HoldExpirySpec = HOLD_EXPIRY_SCHEDULE,
): Promise<ConvergeOutcome> {
  return convergeSchedule(deps, holdExpirySchedule(spec), (described) => matches(described, spec));
}
