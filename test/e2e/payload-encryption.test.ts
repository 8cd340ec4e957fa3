import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
// CommonJS module: Node's ESM loader cannot see its named exports, only the default one.
import protos, { type temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../../scripts/stack/profile.js';
import { envExampleDefaults } from '../../scripts/stack/services.js';
import { api, eventually, login, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { requiredEnv } from '../support/test-env.js';

/**
 * Issue 10, "Workflow payloads": a transfer made through the public gateway leaves no clear-text
 * user agent in Temporal's history (the gateway's client and the worker both encrypt), and the
 * stack's codec server decodes it for an operator — and for nobody else.
 */
describe('workflow payloads on the running stack', () => {
  const userAgent = `VeloraPayloadE2E/${randomUUID()}`;
  const codecUrl = `http://127.0.0.1:${PROFILES.test.ports.codec}`;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let connection: Connection;
  let history: temporal.api.history.v1.IHistory;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([registerAndLogin('codec-alice'), registerAndLogin('codec-bob')]);
    const adminToken = await login(
      requiredEnv('TEST_STACK_ADMIN_EMAIL'),
      requiredEnv('TEST_STACK_ADMIN_PASSWORD'),
    );
    const depositKey = randomUUID();
    const deposit = await api('POST', `/v1/admin/wallets/${alice.walletId}/deposits`, {
      token: adminToken,
      idempotencyKey: depositKey,
      body: { amount: '5000', currency: 'USD', reference: `codec-${depositKey}` },
    });
    expect(deposit.status).toBe(201);
    const started = await api<{ id: string }>('POST', '/v1/transfers', {
      token: alice.token,
      idempotencyKey: randomUUID(),
      headers: { 'user-agent': userAgent },
      body: {
        from_wallet_id: alice.walletId,
        to_wallet_id: bob.walletId,
        amount: '700',
        currency: 'USD',
        description: 'codec check',
      },
    });
    expect([200, 201, 202]).toContain(started.status);
    const done = await eventually(
      () => api<{ status: string }>('GET', `/v1/transfers/${started.body.id}`, { token: alice.token }),
      (r) => r.status === 200 && r.body.status === 'completed',
    );
    expect(done.body.status).toBe('completed');

    connection = await Connection.connect({ address: requiredEnv('TEST_STACK_TEMPORAL_ADDRESS') });
    const response = await connection.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: `transfer-${started.body.id}` },
    });
    history = response.history ?? {};
  });
  afterAll(async () => {
    await connection?.close();
  });

  /** The started event's input payloads, as the Web UI sends them to the codec server. */
  function startedInput() {
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    expect(input.length).toBeGreaterThan(0);
    return {
      payloads: input.map((p) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
        data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
      })),
    };
  }

  it('leaves no clear-text user agent anywhere in the transfer history', () => {
    const raw = Buffer.from(protos.temporal.api.history.v1.History.encode(history).finish()).toString(
      'latin1',
    );
    expect(history.events?.length).toBeGreaterThan(5);
    expect(raw).toContain('binary/encrypted');
    expect(raw).not.toContain(userAgent);
  });

  it('decodes the history for the operator through the codec server, and for nobody else', async () => {
    const body = JSON.stringify(startedInput());
    const refused = await fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toContain(userAgent);

    const decoded = await fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${envExampleDefaults().CODEC_SERVER_OPERATOR_TOKEN}`,
      },
      body,
    });
    expect(decoded.status).toBe(200);
    const { payloads } = (await decoded.json()) as { payloads: { data: string }[] };
    expect(Buffer.from(payloads[0]!.data, 'base64').toString()).toContain(userAgent);
  });
});
