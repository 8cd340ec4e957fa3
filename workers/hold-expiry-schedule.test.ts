import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { dataConverterFromConfig, PayloadDecryptionError } from '../lib/payload-codec.js';
import { TASK_QUEUE } from '../temporal-config/index.js';
import { testEnv } from '../test/support/test-env.js';
import { scheduleRewritesCounter, type ScheduleDeps } from './converge-schedule.js';
import {
  ensureHoldExpirySchedule,
  HOLD_EXPIRY_SCHEDULE,
  holdExpirySchedule,
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
    expect(await ensureHoldExpirySchedule({ client, log }, declared)).toBe('created');

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
    await ensureHoldExpirySchedule({ client, log }, declared);
    const handle = client.schedule.getHandle(declared.scheduleId);
    // Every worker ensures it at start: the same declaration writes nothing.
    expect(await ensureHoldExpirySchedule({ client, log }, declared)).toBe('unchanged');
    expect(await ensureHoldExpirySchedule({ client, log }, declared)).toBe('unchanged');
    expect((await handle.describe()).info.lastUpdatedAt).toBeUndefined();

    // An operator paused it; a deployment then declares another run timeout.
    await handle.pause('operator');
    expect(await ensureHoldExpirySchedule({ client, log }, { ...declared, runTimeout: '3m' })).toBe(
      'updated',
    );
    const described = await handle.describe();
    expect(described.action).toMatchObject({ taskQueue: TASK_QUEUE, workflowRunTimeout: 180_000 });
    expect(described.state.paused).toBe(true);
  });

  it('a stuck sweep no longer blocks the later ones: the run times out and the next one starts', async () => {
    // No worker polls this queue: every run is stuck before its first workflow task.
    const stuck = spec({ every: '2s', runTimeout: '3s', taskQueue: `no-worker-${randomUUID()}` });
    await ensureHoldExpirySchedule({ client, log }, stuck);
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

/** A client whose codec holds these keys (the first is current); none: no codec at all. */
function clientWith(...keys: string[]): Client {
  const dataConverter = keys.length
    ? dataConverterFromConfig({ PAYLOAD_CODEC_KEYS: keys.join(',') })
    : undefined;
  return new Client({ connection, dataConverter });
}

function key(id: string): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/** A worker's schedule dependencies, with its own counter of rewrites. */
function worker(workerClient: Client): ScheduleDeps & { registry: Registry } {
  const registry = new Registry();
  return { client: workerClient, log, rewrites: scheduleRewritesCounter(registry), registry };
}

async function rewrites(deps: { registry: Registry }): Promise<string[]> {
  const metrics = await deps.registry.metrics();
  return metrics.split('\n').filter((l) => l.startsWith('orchestrator_schedule_rewrites_total{'));
}

describe('hold-expiry schedule written with a payload key the worker does not hold', () => {
  it('is created again from its declaration, keeping an operator pause, and counted', async () => {
    const retired = key('retired');
    const declared = spec();
    const before = clientWith(retired);
    expect(await ensureHoldExpirySchedule({ client: before, log }, declared)).toBe('created');
    await before.schedule.getHandle(declared.scheduleId).pause('operator: investigating');

    // The retired key is gone from the ring: the worker cannot read the memo it wrote.
    const after = worker(clientWith(key('current')));
    const handle = after.client.schedule.getHandle(declared.scheduleId);
    await expect(handle.describe()).rejects.toBeInstanceOf(PayloadDecryptionError);

    expect(await ensureHoldExpirySchedule(after, declared)).toBe('recreated');
    const described = await handle.describe();
    expect(described.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'holdExpiryWorkflow',
      taskQueue: TASK_QUEUE,
      workflowRunTimeout: 120_000,
    });
    expect(described.spec.intervals?.map((i) => i.every)).toEqual([60_000]);
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(described.memo).toEqual(holdExpirySchedule(declared).memo);
    expect(described.state).toMatchObject({ paused: true, note: 'operator: investigating' });
    expect(await rewrites(after)).toEqual([
      `orchestrator_schedule_rewrites_total{schedule="${declared.scheduleId}",reason="unreadable"} 1`,
    ]);

    // Written with the current key now: the next start finds it as declared and writes nothing,
    // and the retired key no longer opens it.
    expect(await ensureHoldExpirySchedule(after, declared)).toBe('unchanged');
    expect(await rewrites(after)).toHaveLength(1);
    await expect(before.schedule.getHandle(declared.scheduleId).describe()).rejects.toBeInstanceOf(
      PayloadDecryptionError,
    );
  });

  it('a rotation as the runbook does it (the old key still listed) reads it and rewrites nothing', async () => {
    const old = key('old');
    const declared = spec();
    expect(await ensureHoldExpirySchedule({ client: clientWith(old), log }, declared)).toBe('created');

    const rotated = worker(clientWith(key('new'), old));
    expect(await ensureHoldExpirySchedule(rotated, declared)).toBe('unchanged');
    expect(await rewrites(rotated)).toEqual([]);
  });

  it('a worker without any codec (the CI failure: "Unknown encoding: binary/encrypted") starts too', async () => {
    const declared = spec();
    expect(await ensureHoldExpirySchedule({ client: clientWith(key('stack')), log }, declared)).toBe(
      'created',
    );
    const plain = worker(clientWith());
    await expect(plain.client.schedule.getHandle(declared.scheduleId).describe()).rejects.toThrow(
      'Unknown encoding: binary/encrypted',
    );
    expect(await ensureHoldExpirySchedule(plain, declared)).toBe('recreated');
    expect(await ensureHoldExpirySchedule(plain, declared)).toBe('unchanged');
  });

  it('workers starting at once, none able to read it, leave one schedule as declared', async () => {
    const declared = spec();
    await clientWith(key('elsewhere')).schedule.create(holdExpirySchedule(declared));

    const current = key('current');
    const outcomes = await Promise.all(
      [1, 2, 3].map(() => ensureHoldExpirySchedule(worker(clientWith(current)), declared)),
    );
    expect(outcomes).toContain('recreated');
    const described = await clientWith(current).schedule.getHandle(declared.scheduleId).describe();
    expect(described.action).toMatchObject({ workflowType: 'holdExpiryWorkflow', taskQueue: TASK_QUEUE });
    expect(await ensureHoldExpirySchedule({ client: clientWith(current), log }, declared)).toBe('unchanged');
  });
});
