import {
  ScheduleAlreadyRunning,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Logger } from '../lib/logger.js';

/**
 * Makes a schedule on the server the declared one: creates it, or rewrites its spec, action and
 * policies when `declared` says the server's differs, keeping its paused state and notes
 * (pausing is an operator's call). Any number of workers may call this at once; they all write
 * the same declaration.
 */
export async function convergeSchedule(
  client: Client,
  log: Logger,
  options: ScheduleOptions,
  declared: (described: ScheduleDescription) => boolean,
): Promise<'created' | 'updated' | 'unchanged'> {
  try {
    await client.schedule.create(options);
    log.info({ scheduleId: options.scheduleId }, 'schedule created');
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(options.scheduleId);
  if (declared(await handle.describe())) return 'unchanged';
  await handle.update((previous) => ({
    ...previous,
    spec: options.spec,
    action: options.action,
    policies: { ...previous.policies, ...options.policies },
  }));
  log.info(
    { scheduleId: options.scheduleId, taskQueue: options.action.taskQueue },
    'schedule updated to its declaration',
  );
  return 'updated';
}
