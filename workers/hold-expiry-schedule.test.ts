import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { TASK_QUEUE } from '../temporal-config/index.js';
import { testEnv } from '../test/support/test-env.js';
import {
  ensureHoldExpirySchedule,
  HOLD_EXPIRY_SCHEDULE,
  type HoldExpirySpec,
} from './hold-expiry-schedule.js';

let connection: Connection;
let client: Client;
const log = createLogger('test', 'silent');
const scheduleIds: string[] = [];

/** The declared schedule under a test-only id (and, where given, other values). */
function spec(overrides: Partial<HoldExpirySpec> = {}): HoldExpirySpec {
  const scheduleId = `hold-expiry-test-${randomUUID()}`;
  scheduleIds.push(scheduleId);
  return { ...HOLD_EXPIRY_SCHEDULE, scheduleId, ...overrides };
}

beforeAll(async () => {
  connection = await Connection.connect({ address: testEnv('temporalAddress') });
  client = new Client({ connection });
});

afterAll(async () => {
  for (const id of scheduleIds) {
    await client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  }
  await connection?.close();
});

describe('hold-expiry schedule', () => {
  it('is the declared one: every minute on the production queue, skipping overlaps, with a run timeout', async () => {
    const declared = spec();
    expect(await ensureHoldExpirySchedule(client, log, declared)).toBe('created');

    const described = await client.schedule.getHandle(declared.scheduleId).describe();
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([60_000]);
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'holdExpiryWorkflow',
      taskQueue: TASK_QUEUE,
      workflowRunTimeout: 120_000,
    });
    expect(described.state.paused).toBe(false);
  });

  it('is written once: workers starting again leave it alone, a changed declaration updates it, a pause stays', async () => {
    const declared = spec();
    await ensureHoldExpirySchedule(client, log, declared);
    const handle = client.schedule.getHandle(declared.scheduleId);
    // Every worker ensures it at start: the same declaration writes nothing.
    expect(await ensureHoldExpirySchedule(client, log, declared)).toBe('unchanged');
    expect(await ensureHoldExpirySchedule(client, log, declared)).toBe('unchanged');
    expect((await handle.describe()).info.lastUpdatedAt).toBeUndefined();

    // An operator paused it; a deployment then declares another run timeout.
    await handle.pause('operator');
    expect(await ensureHoldExpirySchedule(client, log, { ...declared, runTimeout: '3m' })).toBe('updated');
    const described = await handle.describe();
    expect(described.action).toMatchObject({ taskQueue: TASK_QUEUE, workflowRunTimeout: 180_000 });
    expect(described.state.paused).toBe(true);
  });

  it('a stuck sweep no longer blocks the later ones: the run times out and the next one starts', async () => {
    // No worker polls this queue: every run is stuck before its first workflow task.
    const stuck = spec({ every: '2s', runTimeout: '3s', taskQueue: `no-worker-${randomUUID()}` });
    await ensureHoldExpirySchedule(client, log, stuck);
    const handle = client.schedule.getHandle(stuck.scheduleId);

    // With overlap SKIP and no run timeout the first run would stay running and the schedule
    // would take no second action, ever.
    const actions = await vi.waitFor(
      async () => {
        const recent = (await handle.describe()).info.recentActions;
        expect(recent.length).toBeGreaterThanOrEqual(2);
        return recent;
      },
      { timeout: 30_000, interval: 500 },
    );
    const first = await client.workflow.getHandle(actions[0]!.action.workflow.workflowId).describe();
    expect(first.status.name).toBe('TIMED_OUT');
    expect(actions[1]!.takenAt.getTime()).toBeGreaterThan(first.closeTime!.getTime() - 1);
  });
});
