import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { TASK_QUEUE } from '../temporal-config/index.js';
import { testEnv } from '../test/support/test-env.js';
import { ensureTransferArchiveSchedule, TRANSFER_ARCHIVE_SCHEDULE } from './transfer-archive-schedule.js';

let connection: Connection;
let client: Client;
const log = createLogger('test', 'silent');
// A test-only id: the test Temporal's real `transfer-archive` schedule belongs to the e2e stack.
const declared = { ...TRANSFER_ARCHIVE_SCHEDULE, scheduleId: `transfer-archive-test-${randomUUID()}` };

beforeAll(async () => {
  connection = await Connection.connect({ address: testEnv('temporalAddress') });
  client = new Client({ connection });
});

afterAll(async () => {
  await client.schedule
    .getHandle(declared.scheduleId)
    .delete()
    .catch(() => undefined);
  await connection?.close();
});

describe('transfer-archive schedule', () => {
  it('is the declared one, written once: every minute on the production queue, one sweep at a time, with a run timeout', async () => {
    expect(await ensureTransferArchiveSchedule({ client, log }, declared)).toBe('created');
    const described = await client.schedule.getHandle(declared.scheduleId).describe();
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([60_000]);
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'transferArchiveWorkflow',
      taskQueue: TASK_QUEUE,
      workflowRunTimeout: 300_000,
    });
    // Another worker starting: nothing to change. A changed declaration (a new release): updated.
    expect(await ensureTransferArchiveSchedule({ client, log }, declared)).toBe('unchanged');
    expect(await ensureTransferArchiveSchedule({ client, log }, { ...declared, runTimeout: '4m' })).toBe(
      'updated',
    );
  });
});
