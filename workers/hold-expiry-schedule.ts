/**
 * The `hold-expiry` Temporal Schedule: starts holdExpiryWorkflow every minute. Every worker
 * ensures it at start — create, or update to this definition if it exists — so a deployment
 * that changes the interval converges without a separate migration step.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Logger } from '../lib/logger.js';
import { HOLD_EXPIRY_SCHEDULE_ID } from '../workflows/hold-expiry-workflow.js';

export function holdExpirySchedule(taskQueue: string, scheduleId = HOLD_EXPIRY_SCHEDULE_ID): ScheduleOptions {
  return {
    scheduleId,
    spec: { intervals: [{ every: '1m' }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'holdExpiryWorkflow',
      workflowId: scheduleId,
      taskQueue,
      staticSummary: 'Expire holds past their expires_at (frees funds of abandoned transfers)',
    },
    // A sweep still running when the next minute comes: skip, never pile up.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
    memo: { purpose: 'hold expiry sweep' },
  };
}

export async function ensureHoldExpirySchedule(
  client: Client,
  taskQueue: string,
  log: Logger,
  scheduleId = HOLD_EXPIRY_SCHEDULE_ID,
): Promise<void> {
  const options = holdExpirySchedule(taskQueue, scheduleId);
  try {
    await client.schedule.create(options);
    log.info({ scheduleId: options.scheduleId }, 'schedule created');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({
      ...previous,
      spec: options.spec,
      action: options.action,
      policies: { ...previous.policies, ...options.policies },
    }));
    log.info({ scheduleId: options.scheduleId }, 'schedule updated');
  }
}
