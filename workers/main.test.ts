/**
 * The worker process as operators run it: `node --import tsx workers/main.ts` starts, reports
 * ready on /readyz once it polls Temporal, exposes /metrics, and exits 0 after draining on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { describe, expect, it, vi } from 'vitest';
import { dataConverterFromConfig } from '../lib/payload-codec.js';
import { msToTs } from '@temporalio/common/lib/time.js';
import { TASK_QUEUE } from '../temporal-config/index.js';
import { testEnv } from '../test/support/test-env.js';
import { HOLD_EXPIRY_SCHEDULE, holdExpirySchedule } from './hold-expiry-schedule.js';
import { TRANSFER_ARCHIVE_SCHEDULE, transferArchiveSchedule } from './transfer-archive-schedule.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A worker process on a free health port, its output kept for failure messages. */
async function startWorker(env: Record<string, string>) {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: testEnv('temporalAddress'),
      TEMPORAL_TASK_QUEUE: `main-test-${randomUUID()}`,
      WORKER_HEALTH_PORT: String(port),
      ORCHESTRATOR_CLIENT_SECRET: 'dev-orchestrator-secret-0123456789abcdef',
      WORKFLOW_INPUT_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker = {
    port,
    child,
    /** What it printed so far (stdout and stderr). */
    log: '',
    exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout.on('data', (d: Buffer) => (worker.log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (worker.log += d.toString()));
  return worker;
}

/** Waits for /readyz to answer 200 (up to a minute: the worker bundles its workflows first). */
async function readiness(port: number): Promise<Response | undefined> {
  for (let i = 0; i < 240; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (res?.status === 200) return res;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

describe('workers/main.ts', () => {
  it('starts, becomes ready, serves metrics and drains on SIGTERM', async () => {
    const worker = await startWorker({
      HOLD_EXPIRY_SCHEDULE: 'false',
      // The test stack's worker owns both schedules on this shared Temporal, written with the
      // stack's codec key: this worker would take them over with its own (next test).
      TRANSFER_ARCHIVE_SCHEDULE: 'false',
    });
    try {
      const ready = await readiness(worker.port);
      expect(ready, worker.log).toBeDefined();
      expect(await ready!.json()).toEqual({ status: 'ready', checks: { temporal: true } });
      const metrics = await fetch(`http://127.0.0.1:${worker.port}/metrics`);
      expect(await metrics.text()).toContain('orchestrator_activity_duration_seconds');
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited, worker.log).toBe(0);
  }, 90_000);

  it('starts and is ready when its schedules were written with a payload key it does not hold, and rewrites them', async () => {
    // Its own namespace, so the real schedule ids are this test's alone.
    const connection = await Connection.connect({ address: testEnv('temporalAddress') });
    const namespace = 'velora-main-test-schedules';
    await connection.workflowService
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') })
      .catch((err: unknown) => {
        if (!(err instanceof Error && /already exists|AlreadyExists/i.test(err.message))) throw err;
      });
    const keys = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
    const codec = (k: string) => dataConverterFromConfig({ PAYLOAD_CODEC_KEYS: k });
    const before = new Client({ connection, namespace, dataConverter: codec(keys('before')) });
    // A fresh namespace is known to the frontend after its cache refreshes.
    for (const options of [holdExpirySchedule(), transferArchiveSchedule()]) {
      await before.schedule
        .getHandle(options.scheduleId)
        .delete()
        .catch(() => undefined);
      await vi.waitFor(() => before.schedule.create(options), { timeout: 30_000, interval: 500 });
    }
    await before.schedule.getHandle(HOLD_EXPIRY_SCHEDULE.scheduleId).pause('operator');

    const current = keys('current');
    const worker = await startWorker({
      TEMPORAL_NAMESPACE: namespace,
      PAYLOAD_CODEC_KEYS: current,
      CODEC_SERVER_PORT: '0',
    });
    try {
      const ready = await readiness(worker.port);
      expect(ready, worker.log).toBeDefined();
      const metrics = await (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
      // Without the service label every metric of a service carries.
      const rewrites = metrics
        .split('\n')
        .filter((l) => l.startsWith('orchestrator_schedule_rewrites_total'))
        .map((l) => l.replace(/,service="[^"]*"/, ''));
      expect(rewrites.sort(), worker.log).toEqual(
        [HOLD_EXPIRY_SCHEDULE.scheduleId, TRANSFER_ARCHIVE_SCHEDULE.scheduleId].map(
          (id) => `orchestrator_schedule_rewrites_total{schedule="${id}",reason="unreadable"} 1`,
        ),
      );
    } finally {
      worker.child.kill('SIGTERM');
    }
    expect(await worker.exited, worker.log).toBe(0);

    // Both as declared, readable with the current key, the operator's pause kept.
    const after = new Client({ connection, namespace, dataConverter: codec(current) });
    const hold = await after.schedule.getHandle(HOLD_EXPIRY_SCHEDULE.scheduleId).describe();
    expect(hold.action).toMatchObject({ workflowType: 'holdExpiryWorkflow', taskQueue: TASK_QUEUE });
    expect(hold.state.paused).toBe(true);
    const archive = await after.schedule.getHandle(TRANSFER_ARCHIVE_SCHEDULE.scheduleId).describe();
    expect(archive.action).toMatchObject({ workflowType: 'transferArchiveWorkflow', taskQueue: TASK_QUEUE });
    for (const id of [HOLD_EXPIRY_SCHEDULE.scheduleId, TRANSFER_ARCHIVE_SCHEDULE.scheduleId]) {
      await after.schedule.getHandle(id).delete();
    }
    await connection.close();
  }, 120_000);
});
