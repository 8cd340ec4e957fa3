import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { testEnv } from '../test/support/test-env.js';
import { ensureHoldExpirySchedule } from './hold-expiry-schedule.js';

let connection: Connection;
let client: Client;
const scheduleId = `hold-expiry-test-${randomUUID()}`;
const log = createLogger('test', 'silent');

beforeAll(async () => {
  connection = await Connection.connect({ address: testEnv('temporalAddress') });
  client = new Client({ connection });
});

afterAll(async () => {
  await client.schedule
    .getHandle(scheduleId)
    .delete()
    .catch(() => undefined);
  await connection?.close();
});

describe('hold-expiry schedule', () => {
  it('is created every minute, skipping overlaps, and converges when ensured again', async () => {
    await ensureHoldExpirySchedule(client, 'queue-a', log, scheduleId);
    // A second worker (or a new deployment with another queue) updates instead of failing.
    await ensureHoldExpirySchedule(client, 'queue-b', log, scheduleId);

    const described = await client.schedule.getHandle(scheduleId).describe();
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([60_000]);
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'holdExpiryWorkflow',
      taskQueue: 'queue-b',
    });
    expect(described.state.paused).toBe(false);
  });
});
