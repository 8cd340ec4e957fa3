/**
 * Shared set-up of the workflow tests: one TestWorkflowEnvironment on the dev server the
 * vitest global setup started, the workflow code bundled once per test file, and one worker on
 * a task queue unique to the file, running the given (stubbed) activities.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WithStartWorkflowOperation, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { testEnv } from '../../test/support/test-env.js';
import {
  transferStartOptions,
  waitForTransfer,
  type Transfer,
  type TransferInput,
} from '../../workflows/transfer-contract.js';
import { transferWorkflow } from '../../workflows/transfer-workflow.js';
import { historyToJson } from './history-json.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
export const HISTORIES_DIR = fileURLToPath(new URL('../../test/histories/', import.meta.url));

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflow bundle, built once per test process. */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('ERROR') });
  return bundle;
}

export interface WorkflowTestContext {
  env: TestWorkflowEnvironment;
  taskQueue: string;
  stop: () => Promise<void>;
}

let runtimeInstalled = false;

export async function startWorkflowTestWorker(
  taskQueue: string,
  activities: object,
): Promise<WorkflowTestContext> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    runtimeInstalled = true;
  }
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: testEnv('temporalAddress') });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
    shutdownGraceTime: '1s',
  });
  const running = worker.run();
  return {
    env,
    taskQueue,
    stop: async () => {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

/**
 * With VELORA_RECORD_HISTORIES=1, stores the run's history as test/histories/<name>.json, the
 * input of the replay test that makes a non-deterministic workflow change fail the build.
 */
export async function recordHistory(handle: WorkflowHandle, name: string): Promise<void> {
  if (process.env.VELORA_RECORD_HISTORIES !== '1') return;
  const history = await handle.fetchHistory();
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), `${historyToJson(history)}\n`);
}

/**
 * Starts a transfer and waits for its settled (or awaiting-code) view in one call, as the
 * gateway's `Prefer: wait` does (Update-with-Start of `waitForTransfer`).
 */
export function startTransferAndWait(ctx: WorkflowTestContext, input: TransferInput): Promise<Transfer> {
  return ctx.env.client.workflow.executeUpdateWithStart(waitForTransfer, {
    startWorkflowOperation: new WithStartWorkflowOperation(transferWorkflow, {
      ...transferStartOptions(input),
      taskQueue: ctx.taskQueue,
      workflowIdConflictPolicy: 'FAIL',
    }),
  });
}
