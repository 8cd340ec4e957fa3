import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { signWorkflowInput, workflowInputKey } from '../../lib/workflow-input-signature.js';
import {
  transferStartOptions,
  transferWorkflowId,
  type TransferInput,
} from '../../workflows/transfer-contract.js';
import { transferWorkflow } from '../../workflows/transfer-workflow.js';
import { deriveId } from '../temporal/idempotency.js';
import { createHarness, type Harness } from '../testing/harness.js';

/**
 * Issue 11, item 3: a run the workflow did not end itself — an operator's `terminate`, a run
 * timeout — still carries the `TransferStatus` it last wrote (and a worker still answers its last
 * view). The reader must show it as what it is: `failed`, with the code `terminated` or
 * `timed_out`, on a single read and in lists.
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness({ temporal: true });
});
afterAll(async () => h?.close());

async function funded() {
  const u = await h.user();
  const from = h.addWallet(u.id);
  const payee = await h.user();
  const to = h.addWallet(payee.id);
  return { u, from, to };
}

/**
 * A transfer of `u` that stays `processing` until something stops it: its capture moved the
 * money and then waits at the gate `gate` (a wallet whose answer has not arrived yet).
 */
async function processingTransfer(
  u: Awaited<ReturnType<typeof funded>>['u'],
  from: string,
  to: string,
  gate: string,
) {
  const key = randomUUID();
  const workflowId = transferWorkflowId(deriveId('transfer', u.id, key));
  // The reserve only holds (as a wallet from before the one-call reserve), so the capture is a
  // step of its own that can be held at the gate.
  h.services.walletWithoutOneCall(workflowId);
  h.services.inject(workflowId, 'captureTransfer', { kind: 'block', gate });
  const res = await h.request('/v1/transfers', {
    method: 'POST',
    headers: { ...u.auth, 'idempotency-key': key },
    json: { from_wallet_id: from, to_wallet_id: to, amount: '100', currency: 'USD' },
  });
  expect(res.status).toBe(202);
  await h.services.reached(gate);
  return (await res.json()).id as string;
}

async function listIds(auth: Record<string, string>, status: string): Promise<string[]> {
  const res = await h.request(`/v1/transfers?status=${status}`, { headers: auth });
  expect(res.status).toBe(200);
  return ((await res.json()).items as { id: string }[]).map((t) => t.id);
}

describe('transfers stopped from outside the workflow', () => {
  it('a terminated transfer reads failed/terminated, is listed as failed and no longer as processing', async () => {
    const { u, from, to } = await funded();
    const gate = randomUUID();
    const id = await processingTransfer(u, from.id, to.id, gate);
    // The capture is a local activity: `processing` is written when the worker heartbeats the
    // workflow task it runs in (8 s in), so visibility shows it only then.
    await vi.waitFor(async () => expect(await listIds(u.auth, 'processing')).toContain(id), {
      timeout: 25_000,
      interval: 200,
    });

    await h.temporal.workflow.getHandle(`transfer-${id}`).terminate('operator test');
    h.services.open(gate);

    const read = await h.request(`/v1/transfers/${id}`, { headers: u.auth });
    expect(read.status).toBe(200);
    const t = (await read.json()) as { steps: { name: string }[]; completed_at?: string };
    expect(t).toMatchObject({ id, status: 'failed', failure_code: 'terminated' });
    expect(t.completed_at).toBeTypeOf('string');
    // The steps still come from the workflow's last view.
    expect(t.steps.map((s) => s.name)).toEqual(['reserve', 'step_up', 'capture']);

    await vi.waitFor(
      async () => {
        const failed = await h.request('/v1/transfers?status=failed', { headers: u.auth });
        const items = (await failed.json()).items as { id: string; status: string; failure_code?: string }[];
        expect(items.find((i) => i.id === id)).toMatchObject({
          status: 'failed',
          failure_code: 'terminated',
        });
        expect(await listIds(u.auth, 'processing')).not.toContain(id);
      },
      { timeout: 10_000, interval: 200 },
    );
    const all = await h.request('/v1/transfers', { headers: u.auth });
    expect(
      ((await all.json()).items as { id: string; status: string }[]).find((i) => i.id === id),
    ).toMatchObject({ status: 'failed', failure_code: 'terminated' });

    // Cancelling it answers the stopped transfer, not a stale live one.
    const cancel = await h.request(`/v1/transfers/${id}/cancel`, { method: 'POST', headers: u.auth });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ status: 'failed', failure_code: 'terminated' });
  });

  it('a transfer closed by its execution timeout reads failed/timed_out', async () => {
    const { u, from, to } = await funded();
    const transferId = randomUUID();
    // Large enough to wait for its step-up code, which never comes.
    const fields: Omit<TransferInput, 'signature'> = {
      transfer_id: transferId,
      from_wallet_id: from.id,
      to_wallet_id: to.id,
      amount: '150000',
      currency: 'USD',
      description: 'never confirmed',
      initiated_by: {
        user_id: u.id,
        client_id: 'velora-web',
        token_jti: 'j',
        ip: '203.0.113.7',
        user_agent: 't',
      },
      request_hash: 'h',
      created_at: new Date().toISOString(),
    };
    const input = signWorkflowInput(fields, workflowInputKey(h.config.WORKFLOW_INPUT_KEY));
    const handle = await h.temporal.workflow.start(transferWorkflow, {
      ...transferStartOptions(input),
      taskQueue: h.taskQueue,
      workflowExecutionTimeout: '2s',
    });
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);

    const read = await h.request(`/v1/transfers/${transferId}`, { headers: u.auth });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: transferId, status: 'failed', failure_code: 'timed_out' });
    await vi.waitFor(async () => expect(await listIds(u.auth, 'failed')).toContain(transferId), {
      timeout: 10_000,
      interval: 200,
    });
  });
});
