import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { transferStartOptions, type TransferInput } from '../../workflows/transfer-contract.js';
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
  const from = h.wallet.addWallet(u.id, 'USD');
  const payee = await h.user();
  const to = h.wallet.addWallet(payee.id, 'USD');
  return { u, from, to };
}

/** A transfer of `u` that stays `processing` until something stops it (the stub's `slow`). */
async function slowTransfer(u: Awaited<ReturnType<typeof funded>>['u'], from: string, to: string) {
  const res = await h.request('/v1/transfers', {
    method: 'POST',
    headers: { ...u.auth, 'idempotency-key': randomUUID() },
    json: { from_wallet_id: from, to_wallet_id: to, amount: '100', currency: 'USD', description: 'slow' },
  });
  expect(res.status).toBe(202);
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
    const id = await slowTransfer(u, from.id, to.id);
    await vi.waitFor(async () => expect(await listIds(u.auth, 'processing')).toContain(id), {
      timeout: 10_000,
      interval: 200,
    });

    await h.temporal.workflow.getHandle(`transfer-${id}`).terminate('operator test');

    const read = await h.request(`/v1/transfers/${id}`, { headers: u.auth });
    expect(read.status).toBe(200);
    const t = (await read.json()) as { steps: { name: string }[]; completed_at?: string };
    expect(t).toMatchObject({ id, status: 'failed', failure_code: 'terminated' });
    expect(t.completed_at).toBeTypeOf('string');
    // The steps still come from the workflow's last view.
    expect(t.steps.map((s) => s.name)).toEqual(['authorize']);

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
    const input: TransferInput = {
      transfer_id: transferId,
      from_wallet_id: from.id,
      to_wallet_id: to.id,
      amount: '100',
      currency: 'USD',
      description: 'slow',
      initiated_by: {
        user_id: u.id,
        client_id: 'velora-web',
        token_jti: 'j',
        ip: '203.0.113.7',
        user_agent: 't',
      },
      request_hash: 'h',
      created_at: new Date().toISOString(),
      signature: 'unused-by-the-stub',
    };
    const handle = await h.temporal.workflow.start('transferWorkflow', {
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
