/**
 * The `transfer-archive` Temporal Schedule: starts transferArchiveWorkflow every minute. Declared
 * here once, and every worker converges the server to it at start (created when missing, its
 * action and policies rewritten when they differ, its paused state and notes left to operators),
 * like the hold-expiry schedule: a worker never points it at its own task queue.
 */
import { ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleOptions } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time.js';
import { TASK_QUEUE } from '../temporal-config/index.js';
import {
  TRANSFER_ARCHIVE_SCHEDULE_ID,
  transferArchiveWorkflow,
} from '../workflows/transfer-archive-workflow.js';
import { convergeSchedule, type ConvergeOutcome, type ScheduleDeps } from './converge-schedule.js';

/** What the transfer-archive schedule is (durations as Temporal's options take them). */
export interface TransferArchiveSpec {
  scheduleId: string;
  every: `${number}${'s' | 'm'}`;
  taskQueue: string;
  runTimeout: `${number}${'s' | 'm'}`;
}

/**
 * Every minute; a sweep still running when the next is due is skipped (one sweep at a time
 * moves the checkpoint), and a run is closed after 5 minutes, so one stuck run delays the
 * archive by at most that, never for good.
 */
export const TRANSFER_ARCHIVE_SCHEDULE: TransferArchiveSpec = {
  scheduleId: TRANSFER_ARCHIVE_SCHEDULE_ID,
  every: '1m',
  taskQueue: TASK_QUEUE,
  runTimeout: '5m',
};

export function transferArchiveSchedule(spec = TRANSFER_ARCHIVE_SCHEDULE): ScheduleOptions {
  return {
    scheduleId: spec.scheduleId,
    spec: { intervals: [{ every: spec.every }] },
    action: {
      type: 'startWorkflow',
      workflowType: transferArchiveWorkflow,
      workflowId: spec.scheduleId,
      taskQueue: spec.taskQueue,
      workflowRunTimeout: spec.runTimeout,
      args: [{}],
      staticSummary: 'Archive closed transfers into WalletService (records outlive Temporal retention)',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
    memo: { purpose: 'transfer archive sweep' },
  };
}

function declared(described: ScheduleDescription, spec: TransferArchiveSpec): boolean {
  const { action, spec: when, policies } = described;
  return (
    action.type === 'startWorkflow' &&
    action.workflowType === transferArchiveWorkflow.name &&
    action.taskQueue === spec.taskQueue &&
    msToNumber(action.workflowRunTimeout ?? 0) === msToNumber(spec.runTimeout) &&
    when.intervals?.length === 1 &&
    msToNumber(when.intervals[0]!.every) === msToNumber(spec.every) &&
    policies.overlap === ScheduleOverlapPolicy.SKIP
  );
}

/**
 * Makes the server's schedule the declared one (created again when this worker's payload keys
 * cannot read it); any number of workers may call it at once.
 */
export async function ensureTransferArchiveSchedule(
  deps: ScheduleDeps,
  spec = TRANSFER_ARCHIVE_SCHEDULE,
): Promise<ConvergeOutcome> {
  return convergeSchedule(deps, transferArchiveSchedule(spec), (described) => declared(described, spec));
}
