import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../testing/harness.js';

/**
 * A transfer through the gateway, run by the real workflow: completed within the wait, or (at or
 * above the step-up threshold) still waiting for its code.
 */
async function transfer(amount: string): Promise<string> {
  const u = await h.user();
  const from = h.addWallet(u.id);
  const payee = await h.user();
  const to = h.addWallet(payee.id);
  const res = await h.request('/v1/transfers', {
    method: 'POST',
    headers: { ...u.auth, 'idempotency-key': randomUUID(), prefer: 'wait=10' },
    json: { from_wallet_id: from.id, to_wallet_id: to.id, amount, currency: 'USD' },
  });
  const body = await res.json();
  return body.id as string;
}

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ temporal: true });
});
afterAll(async () => h?.close());

describe('POST /v1/admin/transfers/:transfer_id/reversal', () => {
  it('is for admins only, needs an Idempotency-Key and a reason, and only for a transfer that exists', async () => {
    const user = await h.user();
    const admin = await h.user({ roles: ['admin'] });
    const path = `/v1/admin/transfers/${randomUUID()}/reversal`;
    const json = { reason: 'paid the wrong person' };
    const forbidden = await h.request(path, {
      method: 'POST',
      headers: { ...user.auth, 'idempotency-key': randomUUID() },
      json,
    });
    expect(forbidden.status).toBe(403);
    const noKey = await h.request(path, { method: 'POST', headers: admin.auth, json });
    expect(noKey.status).toBe(400);
    expect((await noKey.json()).code).toBe('idempotency_key_required');
    const noReason = await h.request(path, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': randomUUID() },
      json: { allow_partial: true },
    });
    expect(noReason.status).toBe(400);
    const unknown = await h.request(path, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': randomUUID() },
      json,
    });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe('transfer_not_found');
  });

  it('starts one reversal per transfer: the same body answers the same reversal, another reason is 409 reversal_exists', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const transferId = await transfer('1000');
    const path = `/v1/admin/transfers/${transferId}/reversal`;
    const post = (json: Record<string, unknown>) =>
      h.request(path, { method: 'POST', headers: { ...admin.auth, 'idempotency-key': randomUUID() }, json });
    const started = await post({ reason: 'paid the wrong person' });
    expect(started.status).toBe(202);
    const reversal = await started.json();
    expect(reversal).toMatchObject({
      id: `reversal-${transferId}`,
      attempt: 1,
      transfer_id: transferId,
      status: 'completed',
      reason: 'paid the wrong person',
      requested_by: admin.id,
    });
    expect(reversal).not.toHaveProperty('signature');
    const again = await post({ reason: 'paid the wrong person' });
    expect(again.status).toBe(202);
    expect((await again.json()).id).toBe(reversal.id);
    const other = await post({ reason: 'another story' });
    expect(other.status).toBe(409);
    expect((await other.json()).code).toBe('reversal_exists');
  });

  it('answers a refused reversal with its failure code', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const transferId = await transfer('1000');
    const res = await h.request(`/v1/admin/transfers/${transferId}/reversal`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': randomUUID() },
      json: { reason: 'refuse:reversal_insufficient_funds' },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'failed', failure_code: 'reversal_insufficient_funds' });
  });

  it('asks a refused reversal again with a new key: the next attempt, and once one completed no more', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const transferId = await transfer('1000');
    const path = `/v1/admin/transfers/${transferId}/reversal`;
    const post = async (key: string, json: Record<string, unknown>) => {
      const res = await h.request(path, {
        method: 'POST',
        headers: { ...admin.auth, 'idempotency-key': key },
        json,
      });
      return { status: res.status, body: await res.json() };
    };
    const firstKey = randomUUID();
    const refused = { reason: 'refuse:reversal_insufficient_funds' };
    const first = await post(firstKey, refused);
    expect(first).toMatchObject({
      status: 202,
      body: {
        id: `reversal-${transferId}`,
        attempt: 1,
        status: 'failed',
        failure_code: 'reversal_insufficient_funds',
      },
    });
    // The same request again (its key): the same refused attempt, nothing new started.
    expect((await post(firstKey, refused)).body).toMatchObject({ id: `reversal-${transferId}`, attempt: 1 });
    await expect(
      h.temporal.workflow.getHandle(`reversal-${transferId}.attempt-2`).describe(),
    ).rejects.toThrow();

    // A new key asks again, with whatever reason and option: attempt 2.
    const secondKey = randomUUID();
    const second = await post(secondKey, {
      reason: 'the payee holds it again (ticket 12)',
      allow_partial: true,
    });
    expect(second).toMatchObject({
      status: 202,
      body: {
        id: `reversal-${transferId}.attempt-2`,
        attempt: 2,
        transfer_id: transferId,
        status: 'completed',
        allow_partial: true,
      },
    });
    expect(second.body).not.toHaveProperty('signature');
    // Completed: any key with the same body answers it, another body is reversal_exists, and the
    // first key still answers its own attempt.
    expect(
      (await post(randomUUID(), { reason: 'the payee holds it again (ticket 12)', allow_partial: true }))
        .body,
    ).toMatchObject({
      id: `reversal-${transferId}.attempt-2`,
      status: 'completed',
    });
    const other = await post(randomUUID(), refused);
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('reversal_exists');
    expect((await post(firstKey, refused)).body).toMatchObject({ attempt: 1, status: 'failed' });
    await expect(
      h.temporal.workflow.getHandle(`reversal-${transferId}.attempt-3`).describe(),
    ).rejects.toThrow();
  });

  it('refuses a transfer that did not complete: 409 transfer_not_completed, nothing started', async () => {
    const admin = await h.user({ roles: ['admin'] });
    const transferId = await transfer('150000'); // waits for its OTP
    const res = await h.request(`/v1/admin/transfers/${transferId}/reversal`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': randomUUID() },
      json: { reason: 'too early' },
    });
    expect(res.status).toBe(409);
    expect((await res.json()).code).toBe('transfer_not_completed');
    await expect(h.temporal.workflow.getHandle(`reversal-${transferId}`).describe()).rejects.toThrow();
  });
});
