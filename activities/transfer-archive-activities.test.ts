/**
 * The archive sweep against the real Temporal dev server (real transfer workflows, their
 * activities stubbed) and the real WalletService over HTTP on its own PostgreSQL database.
 */
import { randomUUID } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, UpstreamUnavailableError, type HttpClient } from '../lib/http-client.js';
import { signWorkflowInput } from '../lib/workflow-input-signature.js';
import { createWalletHarness, type WalletHarness } from '../wallet/testing/wallet-harness.js';
import type { ArchiveCheckpoint, TransferRecord } from '../wallet/wallet-api.js';
import { startWorkflowTestWorker, type WorkflowTestContext } from '../workers/testing/workflow-test-env.js';
import {
  getTransfer,
  transferStartOptions,
  waitForTransfer,
  type Transfer,
  type TransferInput,
} from '../workflows/transfer-contract.js';
import { transferArchiveWorkflow } from '../workflows/transfer-archive-workflow.js';
import { transferWorkflow } from '../workflows/transfer-workflow.js';
import { createFakeServices, FAKE_WORKFLOW_INPUT_KEY, type FakeServices } from './testing/fake-activities.js';
import {
  createTransferArchiveActivities,
  type TransferArchiveInput,
  type TransferArchiveResult,
} from './transfer-archive-activities.js';

const ALICE = `user-${randomUUID()}`;
const BOB = `user-${randomUUID()}`;

let ctx: WorkflowTestContext;
let fake: FakeServices;
let wallet: WalletHarness;
let server: ServerType;
let walletClient: HttpClient;

beforeAll(async () => {
  fake = createFakeServices();
  fake.addUser({ user_id: ALICE });
  fake.addUser({ user_id: BOB });
  ctx = await startWorkflowTestWorker(`transfer-archive-test-${randomUUID()}`, fake.activities);
  // Its own database: the checkpoint is one row, and this file moves it.
  wallet = await createWalletHarness({ isolated: 'transfer_archive' });
  const url = await new Promise<string>((resolve) => {
    server = serve({ fetch: wallet.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    );
  });
  walletClient = createHttpClient({ name: 'wallet', baseUrl: url, token: async () => wallet.token });
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await wallet?.close();
  await ctx?.stop();
});

function transferInput(amount: string, balance = 1_000_000n): TransferInput {
  const from = `w-${randomUUID()}`;
  const to = `w-${randomUUID()}`;
  fake.addWallet({ id: from, user_id: ALICE, balance });
  fake.addWallet({ id: to, user_id: BOB });
  return signWorkflowInput(
    {
      transfer_id: randomUUID(),
      from_wallet_id: from,
      to_wallet_id: to,
      amount,
      currency: 'USD',
      description: 'archived',
      initiated_by: {
        user_id: ALICE,
        client_id: 'velora-web',
        token_jti: randomUUID(),
        ip: '203.0.113.7',
        user_agent: 'vitest',
      },
      request_hash: 'sha256:test',
      created_at: new Date().toISOString(),
    },
    FAKE_WORKFLOW_INPUT_KEY,
  );
}

async function settle(input: TransferInput): Promise<Transfer> {
  const { WithStartWorkflowOperation } = await import('@temporalio/client');
  return ctx.env.client.workflow.executeUpdateWithStart(waitForTransfer, {
    startWorkflowOperation: new WithStartWorkflowOperation(transferWorkflow, {
      ...transferStartOptions(input),
      taskQueue: ctx.taskQueue,
      workflowIdConflictPolicy: 'FAIL',
    }),
  });
}

/** Waits until visibility lists `count` closed runs of this file's queue (written after the close). */
async function visibleClosed(count: number): Promise<void> {
  const query = `TaskQueue = '${ctx.taskQueue}' AND ExecutionStatus != 'Running'`;
  for (;;) {
    const { count: n } = await ctx.env.client.workflow.count(query);
    if (n >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function record(id: string): Promise<TransferRecord | undefined> {
  const res = await wallet.call('GET', `/internal/transfer-records/${id}`);
  return res.status === 200 ? (res.body as TransferRecord) : undefined;
}

async function checkpoint(): Promise<ArchiveCheckpoint> {
  return (await wallet.call('GET', '/internal/transfer-records/checkpoint')).body as ArchiveCheckpoint;
}

/** The WalletService client, with the n-th write failing as a lost answer (after it applied) or before it. */
function failingWrite(n: number, when: 'before' | 'after'): HttpClient {
  let writes = 0;
  return {
    name: 'wallet',
    async request(method, path, options) {
      if (method !== 'POST') return walletClient.request(method, path, options);
      writes += 1;
      if (writes === n && when === 'before') throw new UpstreamUnavailableError('wallet', 'connection reset');
      const result = await walletClient.request(method, path, options);
      if (writes === n) throw new UpstreamUnavailableError('wallet', 'timed out');
      return result as never;
    },
  };
}

function sweep(
  client: HttpClient,
  input: Partial<TransferArchiveInput> = {},
): Promise<TransferArchiveResult> {
  const { archiveClosedTransfers } = createTransferArchiveActivities({
    wallet: client,
    temporal: ctx.env.client,
  });
  return new MockActivityEnvironment().run<
    [TransferArchiveInput],
    TransferArchiveResult,
    typeof archiveClosedTransfers
  >(archiveClosedTransfers, {
    task_queue: ctx.taskQueue,
    lag_ms: 0,
    page_size: 2,
    ...input,
  });
}

describe('transfer archive sweep', () => {
  let completed: Transfer;
  let refused: Transfer;
  let terminated: TransferInput;
  let cancelled: Transfer;

  beforeAll(async () => {
    completed = await settle(transferInput('2500'));
    refused = await settle(transferInput('50000', 100n));
    // Above the step-up threshold: waits for a code until an operator terminates it.
    terminated = transferInput('150000');
    await settle(terminated);
    const handle = ctx.env.client.workflow.getHandle(transferStartOptions(terminated).workflowId);
    expect((await handle.query(getTransfer)).status).toBe('awaiting_confirmation');
    await handle.terminate('operator test');
    const waiting = transferInput('150000');
    await settle(waiting);
    cancelled = await ctx.env.client.workflow
      .getHandle(transferStartOptions(waiting).workflowId)
      .executeUpdate('cancelTransfer');
    await ctx.env.client.workflow.getHandle(transferStartOptions(waiting).workflowId).result();
    await visibleClosed(4);
  });

  it('resumes at the page it was on after a crash, and writes every closed run once with its final view', async () => {
    const start = await checkpoint();
    // Three pages of two (four runs): the second write never reaches WalletService.
    await expect(sweep(failingWrite(2, 'before'))).rejects.toThrow();
    const midway = await checkpoint();
    expect(midway.closed_through).toBe(start.closed_through);
    expect(midway.window_until).not.toBeNull();
    expect(midway.page_token).not.toBeNull();

    // The next sweep (a retry or the next scheduled run) goes on from the stored page.
    const resumed = await sweep(walletClient);
    expect(resumed.caught_up).toBe(true);
    expect(resumed.archived).toBe(2);
    const done = await checkpoint();
    // The window it resumed is done, and so is any later one up to this sweep's horizon.
    expect(done).toMatchObject({ window_until: null, page_token: null });
    expect(Date.parse(done.closed_through)).toBeGreaterThanOrEqual(Date.parse(midway.window_until!));

    const c = await record(completed.id);
    expect(c).toMatchObject({
      status: 'completed',
      initiated_by: ALICE,
      amount: '2500',
      description: 'archived',
      created_at: completed.created_at,
      completed_at: completed.completed_at,
    });
    expect(c!.steps.map((s) => [s.name, s.status])).toEqual(completed.steps.map((s) => [s.name, s.status]));

    const r = await record(refused.id);
    expect(r).toMatchObject({ status: 'failed', failure_code: 'insufficient_funds' });
    const failedStep = r!.steps.find((s) => s.status === 'failed');
    expect(failedStep?.error_code).toBe('insufficient_funds');
    // The raw reason stays in Temporal.
    expect(JSON.stringify(r)).not.toMatch(/"error"/);

    // Terminated while it waited for a code: failed, `terminated`, with the steps it had.
    const t = await record(terminated.transfer_id);
    expect(t).toMatchObject({ status: 'failed', failure_code: 'terminated' });
    expect(t!.steps.find((s) => s.name === 'step_up')?.status).toBe('running');

    expect(await record(cancelled.id)).toMatchObject({
      status: 'cancelled',
      failure_code: 'cancelled_by_user',
    });
  });

  it('a write whose answer was lost is not applied twice; a sweep with nothing new changes nothing', async () => {
    const late = await settle(transferInput('700'));
    await visibleClosed(5);
    const before = await checkpoint();
    // The first write applies, then its answer is lost; the retry reads the moved checkpoint.
    await expect(sweep(failingWrite(1, 'after'))).rejects.toThrow();
    const retried = await sweep(walletClient);
    expect(retried.caught_up).toBe(true);
    expect(await record(late.id)).toMatchObject({ status: 'completed', amount: '700' });
    const after = await checkpoint();
    expect(Date.parse(after.closed_through)).toBeGreaterThan(Date.parse(before.closed_through));
    const { rows } = await (
      await import('kysely')
    ).sql<{ n: string }>`
      select count(*)::text as n from transfer_records where initiated_by = ${ALICE}`.execute(wallet.db);
    expect(rows[0]!.n).toBe('5');

    // What the schedule starts: the workflow with its activity options, on a worker of its own.
    const archiver = await startWorkflowTestWorker(
      `transfer-archiver-test-${randomUUID()}`,
      createTransferArchiveActivities({ wallet: walletClient, temporal: ctx.env.client }),
    );
    try {
      const scheduled = await archiver.env.client.workflow.execute(transferArchiveWorkflow, {
        taskQueue: archiver.taskQueue,
        workflowId: `transfer-archive-test-${randomUUID()}`,
        args: [{ task_queue: ctx.taskQueue, lag_ms: 0 }],
        workflowRunTimeout: '2m',
      });
      expect(scheduled).toMatchObject({ archived: 0, caught_up: true });
    } finally {
      await archiver.stop();
    }

    const idle = await sweep(walletClient);
    expect(idle.archived).toBe(0);
    expect(Date.parse(idle.checkpoint.closed_through)).toBeGreaterThanOrEqual(
      Date.parse(after.closed_through),
    );
  });
});
