import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../test-support/harness.js';

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
});
