import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowClient, type WorkflowHandle } from '@temporalio/client';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../lib/logger.js';
import { searchAttributes } from '../temporal-config/index.js';
import { eventually } from '../test/support/api-client.js';
import { testEnv } from '../test/support/test-env.js';
import { TRANSFER_WORKFLOW_TYPE } from '../workflows/transfer-contract.js';
import { PARKED_TRANSFERS_QUERY, registerParkedTransfersGauge } from './parked-transfers.js';

let connection: Connection;
let client: Client;
const started: WorkflowHandle[] = [];
/** A queue no worker polls: the workflows below stay as started, with their search attributes. */
const taskQueue = `parked-transfers-test-${randomUUID()}`;
const ownQuery = `${PARKED_TRANSFERS_QUERY} AND TaskQueue = '${taskQueue}'`;

/** Starts a transferWorkflow (never run) whose TransferStatus is `status`. */
async function transferWithStatus(status: string): Promise<WorkflowHandle> {
  const handle = await client.workflow.start(TRANSFER_WORKFLOW_TYPE, {
    workflowId: `transfer-parked-test-${randomUUID()}`,
    taskQueue,
    args: [],
    typedSearchAttributes: [{ key: searchAttributes.TransferStatus, value: status }],
  });
  started.push(handle);
  return handle;
}

/** The value of one unlabeled series in the registry's exposition. */
async function sample(registry: Registry, name: string): Promise<number> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${name} is not exported`);
  return Number(line.slice(name.length + 1));
}

beforeAll(async () => {
  connection = await Connection.connect({ address: testEnv('temporalAddress') });
  client = new Client({ connection });
});

afterAll(async () => {
  for (const handle of started) await handle.terminate('test over').catch(() => undefined);
  await connection?.close();
});

describe('the needs_attention gauge', () => {
  it('counts running transfers parked in needs_attention, not other statuses nor closed runs', async () => {
    await transferWithStatus('needs_attention');
    await transferWithStatus('needs_attention');
    await transferWithStatus('compensating');
    const closed = await transferWithStatus('needs_attention');
    await closed.terminate('closed runs are never parked');

    const registry = new Registry();
    const log = createLogger('test', 'silent');
    registerParkedTransfersGauge({
      client,
      registry,
      log,
      maxAgeMs: 0,
      query: ownQuery,
    });
    const before = Date.now() / 1000;
    // Visibility is eventually consistent: a few scrapes until the starts are indexed.
    await eventually(
      () => sample(registry, 'orchestrator_transfers_needs_attention'),
      (n) => n === 2,
      30_000,
    );
    const updated = await sample(
      registry,
      'orchestrator_transfers_needs_attention_updated_timestamp_seconds',
    );
    expect(updated).toBeGreaterThanOrEqual(Math.floor(before));
  });

  it('asks Temporal once per max age, however often it is scraped', async () => {
    const registry = new Registry();
    const log = createLogger('test', 'silent');
    const count = vi.spyOn(WorkflowClient.prototype, 'count');
    registerParkedTransfersGauge({ client, registry, log, query: ownQuery });
    for (let i = 0; i < 5; i++) await registry.metrics();
    expect(count).toHaveBeenCalledTimes(1);
    count.mockRestore();
  });

  it('keeps reporting when the count fails, and says when it last succeeded', async () => {
    const registry = new Registry();
    const log = createLogger('test', 'silent');
    const warn = vi.spyOn(log, 'warn');
    registerParkedTransfersGauge({
      client,
      registry,
      log,
      query: 'TransferStatus = ', // refused by the visibility store
    });
    const metrics = await registry.metrics();
    expect(metrics).toContain('orchestrator_transfers_needs_attention_updated_timestamp_seconds 0');
    expect(warn).toHaveBeenCalledWith(expect.anything(), expect.stringContaining('could not count'));
  });
});
