import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

describe('audit trace and TransactionAuthLog (MongoDB)', () => {
  it('records audit traces and auth logs once per idempotency key', async () => {
    const workflowId = `transfer-${randomUUID()}`;
    const trace = {
      workflow_id: workflowId,
      step: 'reserve',
      status: 'completed',
      attempt: 1,
      duration_ms: 12,
    };
    const key = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => h.call('POST', '/internal/audit-trace', { body: trace, key })),
    );
    expect(results.every((r) => r.status === 202)).toBe(true);
    expect(
      (await h.call('POST', '/internal/audit-trace', { body: { ...trace, attempt: 2 }, key })).body.code,
    ).toBe('idempotency_key_mismatch');
    const auth = {
      transfer_id: randomUUID(),
      workflow_id: workflowId,
      user_id: randomUUID(),
      client_id: 'velora-gateway',
      token_jti: randomUUID(),
      ip: '127.0.0.1',
      user_agent: 'vitest',
      step_up: false,
    };
    expect((await h.call('POST', '/internal/auth-log', { body: auth, key: randomUUID() })).status).toBe(202);
    expect(
      (await h.call('POST', '/internal/auth-log', { body: { ...auth, step_up: 'no' }, key: randomUUID() }))
        .status,
    ).toBe(400);
    await h.relay.drainAll();
    expect(await h.mongo.collection('audit_trace').countDocuments({ workflow_id: workflowId })).toBe(1);
    const logged = await h.mongo
      .collection('transaction_auth_log')
      .find({ transfer_id: auth.transfer_id })
      .toArray();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ user_id: auth.user_id, step_up: false, token_jti: auth.token_jti });
  });
});
