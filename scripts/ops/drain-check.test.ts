/**
 * The drain check against the test stack's Temporal: a run of a workflow type nobody else uses,
 * started on a task queue nobody polls, stays open; the check finds it when asked about a time
 * after its start, not before it, and the command's exit code says so.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../test/support/test-env.js';
import { DEFAULT_NAMESPACE } from '../../temporal-config/index.js';
import { drainCheck, type DrainReport } from './drain-check.js';

const run = promisify(execFile);

let connection: Connection;
let client: Client;
const type = `drainProbe_${randomUUID().replaceAll('-', '')}`;
const workflowId = `drain-probe-${randomUUID()}`;
let startedAt: Date;

beforeAll(async () => {
  connection = await Connection.connect({ address: testEnv('temporalAddress') });
  client = new Client({ connection, namespace: DEFAULT_NAMESPACE });
  const handle = await client.workflow.start(type, {
    workflowId,
    taskQueue: `nobody-polls-${randomUUID()}`,
    args: [],
  });
  startedAt = (await handle.describe()).startTime;
});

afterAll(async () => {
  await client.workflow.getHandle(workflowId).terminate('drain-check test done');
  await connection.close();
});

/** Visibility is written after the start: ask until the run shows (or the test's timeout). */
async function untilListed(before: Date): Promise<DrainReport> {
  for (;;) {
    const report = await drainCheck(connection, { namespace: DEFAULT_NAMESPACE, before, types: [type] });
    if (!report.drained) return report;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('ops:drain-check', () => {
  it('lists an open run started before the time, per workflow type', async () => {
    const report = await untilListed(new Date(startedAt.getTime() + 1000));
    expect(report.open).toEqual({
      [type]: {
        count: 1,
        oldest: [
          { workflow_id: workflowId, run_id: expect.any(String), started_at: startedAt.toISOString() },
        ],
      },
    });
  });

  it('does not count a run started after the time', async () => {
    await untilListed(new Date(startedAt.getTime() + 1000));
    const report = await drainCheck(connection, {
      namespace: DEFAULT_NAMESPACE,
      before: new Date(startedAt.getTime() - 1),
      types: [type],
    });
    expect(report).toMatchObject({ drained: true, open: {} });
  });

  it('refuses a type name that could change the query', async () => {
    await expect(
      drainCheck(connection, { namespace: DEFAULT_NAMESPACE, before: new Date(), types: ["x' OR 'a'='a"] }),
    ).rejects.toThrow(/not a workflow type name/);
  });

  it('exits 1 while such a run is open, 0 when none is, 2 on bad arguments', async () => {
    await untilListed(new Date(startedAt.getTime() + 1000));
    const cli = (...args: string[]) =>
      run('node', ['--import', 'tsx', 'scripts/ops/drain-check.ts', ...args], {
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: testEnv('temporalAddress'),
          TEMPORAL_NAMESPACE: DEFAULT_NAMESPACE,
        },
      }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
      );
    // Three processes at once: each spends seconds starting tsx on this shared machine.
    const [open, drained, usage] = await Promise.all([
      cli('--before', new Date(startedAt.getTime() + 1000).toISOString(), '--type', type),
      cli('--before', new Date(startedAt.getTime() - 1).toISOString(), '--type', type),
      cli('--before', 'yesterday'),
    ]);
    expect(open.code).toBe(1);
    expect((JSON.parse(open.stdout) as DrainReport).open[type]?.count).toBe(1);
    expect(drained.code).toBe(0);
    expect(usage.code).toBe(2);
  }, 240_000);
});
