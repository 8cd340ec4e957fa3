/**
 * `temporal-floor`: what the stack's own Temporal allows on this machine, the ceiling every
 * transfer figure is compared with. Two workflows started through the Temporal client and
 * counted at completion (the result's long poll): an empty one, and the real transfer
 * workflow with no-op activities, both on the bench worker's own task queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { ROOT } from '../../scripts/stack/paths.js';
import { transferStartOptions, type TransferInput } from '../../workflows/transfer-contract.js';
import type { transferWorkflow } from '../../workflows/transfer-workflow.js';
import type { emptyWorkflow } from '../floor/floor-workflows.js';
import { stackTemporal } from '../floor/stack-temporal.js';
import type { Outcome } from '../open-loop.js';
import type { ScenarioSpec } from '../scenario.js';
import type { SearchPlan } from '../stats.js';

export const FLOOR_TASK_QUEUE = 'velora-bench-floor';

export interface FloorWorker {
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Starts the floor worker as a child process and resolves once it polls its task queue. */
export async function startFloorWorker(log: (line: string) => void): Promise<FloorWorker> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench', 'floor', 'floor-worker.ts'), FLOOR_TASK_QUEUE],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr!.on('data', (d: Buffer) => log(`  [floor worker] ${d.toString().trim()}`));
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.trim() === 'ready') resolve();
    });
    child.once('exit', (code) => reject(new Error(`the floor worker exited (${code}) before it was ready`)));
  });
  return {
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A transfer input like the gateway builds; wallets and user are never looked up (no-op activities). */
export function floorInput(): TransferInput {
  return {
    transfer_id: randomUUID(),
    from_wallet_id: randomUUID(),
    to_wallet_id: randomUUID(),
    amount: '100',
    currency: 'USD',
    description: 'bench: temporal floor',
    initiated_by: {
      user_id: 'bench-floor',
      client_id: 'velora-bench',
      token_jti: randomUUID(),
      ip: '127.0.0.1',
      user_agent: 'velora-bench',
    },
    request_hash: '0'.repeat(64),
    created_at: new Date().toISOString(),
    // Checked by the real reserve activity only; the no-op activities check nothing.
    signature: 'bench-floor-unsigned',
  };
}

/** A Temporal client connected like the stack's gateway (TLS, payload codec). */
export async function connectTemporal(): Promise<{ client: Client; close(): Promise<void> }> {
  const temporal = stackTemporal();
  const connection = await Connection.connect({ address: temporal.address, tls: temporal.tls });
  return {
    client: new Client({ connection, namespace: temporal.namespace, dataConverter: temporal.dataConverter }),
    close: () => connection.close(),
  };
}

function failure(err: unknown): Outcome {
  const name = err instanceof Error ? err.name : 'error';
  return { ok: false, error: name.slice(0, 40) };
}

export function emptyWorkflowScenario(client: Client, plan: SearchPlan): ScenarioSpec {
  return {
    name: 'temporal-floor/empty',
    what: 'an empty workflow, started with the Temporal client, counted at completion',
    plan,
    criteria: { p99BoundMs: 1000 },
    send: async () => {
      try {
        await client.workflow.execute<typeof emptyWorkflow>('emptyWorkflow', {
          taskQueue: FLOOR_TASK_QUEUE,
          workflowId: `bench-empty-${randomUUID()}`,
        });
        return { ok: true };
      } catch (err) {
        return failure(err);
      }
    },
  };
}

export function transferShapeScenario(client: Client, plan: SearchPlan): ScenarioSpec {
  return {
    name: 'temporal-floor/transfer',
    what: 'workflows/transfer-workflow.ts with no-op activities, counted at completion',
    plan,
    criteria: { p99BoundMs: 1000 },
    send: async () => {
      const input = floorInput();
      try {
        // Its own type name, so the stack's archive sweep leaves the floor's runs alone (floor-workflows.ts).
        const result = await client.workflow.execute<typeof transferWorkflow>('floorTransferWorkflow', {
          ...transferStartOptions(input),
          taskQueue: FLOOR_TASK_QUEUE,
          workflowId: `bench-floor-${input.transfer_id}`,
        });
        return result.status === 'completed'
          ? { ok: true }
          : { ok: false, error: `${result.status}:${result.failure_code ?? ''}` };
      } catch (err) {
        return failure(err);
      }
    },
  };
}
