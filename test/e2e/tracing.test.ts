import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../../scripts/stack/profile.js';
import { api, eventually, login, registerAndLogin } from '../support/api-client.js';
import {
  SPAN_KIND_SERVER,
  startOtlpReceiver,
  type OtlpReceiver,
  type ReceivedSpan,
} from '../support/otlp-receiver.js';
import { requiredEnv } from '../support/test-env.js';

/**
 * One transfer is one trace across all four processes (issue 13 item 3): the caller's
 * traceparent → the gateway's request and its Update-with-Start → the workflow run and its
 * activities in the worker → the AuthService and WalletService requests they make → each SQL
 * statement of those requests. The stack exports over OTLP because the test profile sets
 * OTEL_EXPORTER_OTLP_ENDPOINT.
 */
describe('a transfer is one trace across the stack', () => {
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    const endpoint = PROFILES.test.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    if (!endpoint) throw new Error('the test profile sets no OTEL_EXPORTER_OTLP_ENDPOINT');
    receiver = await startOtlpReceiver(Number(new URL(endpoint).port));
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('shares the caller’s trace id from the gateway through the workflow to the SQL', async () => {
    const [alice, bob] = await Promise.all([registerAndLogin('trace-a'), registerAndLogin('trace-b')]);
    const admin = await login(
      requiredEnv('TEST_STACK_ADMIN_EMAIL'),
      requiredEnv('TEST_STACK_ADMIN_PASSWORD'),
    );
    const depositKey = randomUUID();
    const deposit = await api('POST', `/v1/admin/wallets/${alice.walletId}/deposits`, {
      token: admin,
      idempotencyKey: depositKey,
      body: { amount: '5000', currency: 'USD', reference: `trace-${depositKey}` },
    });
    expect(deposit.status).toBe(201);

    // The caller starts the trace, as a traced client (or a browser's RUM agent) would.
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const started = await api<{ id: string; status: string }>('POST', '/v1/transfers', {
      token: alice.token,
      idempotencyKey: randomUUID(),
      headers: { prefer: 'wait=20', traceparent: `00-${traceId}-${callerSpanId}-01` },
      body: { from_wallet_id: alice.walletId, to_wallet_id: bob.walletId, amount: '1200', currency: 'USD' },
    });
    expect([200, 201]).toContain(started.status);
    expect(started.body.status).toBe('completed');

    const inTrace = () => receiver.spans.filter((s) => s.traceId === traceId);
    const named = (service: string, pattern: RegExp) =>
      inTrace().filter((s) => s.service === service && pattern.test(s.name));
    // Batches leave each process every 500 ms (OTEL_BSP_SCHEDULE_DELAY of the test profile).
    await eventually(
      async () => inTrace(),
      () =>
        // The gateway's request span ends last: after the transfer settled (Prefer: wait).
        named('velora-gateway', /^POST \/v1\/transfers$/).length > 0 &&
        // Without a step-up the reserve captures in the same wallet call (docs/orchestrator.md).
        named('velora-wallet', /\/internal\/transfers\/:transfer_id\/reserve$/).length > 0 &&
        named('velora-orchestrator-worker', /^RunActivity:reserveTransfer/).length > 0 &&
        named('velora-orchestrator-worker', /^RunWorkflow:transferWorkflow$/).length > 0 &&
        named('velora-auth', /^(GET|POST) /).length > 0,
      30_000,
    );
    const spans = inTrace();
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const services = new Set(spans.map((s) => s.service));
    expect([...services].sort()).toEqual([
      'velora-auth',
      'velora-gateway',
      'velora-orchestrator-worker',
      'velora-wallet',
    ]);

    // The gateway's request span continues the caller's span.
    const request = named('velora-gateway', /^POST \/v1\/transfers$/);
    expect(request).toHaveLength(1);
    expect(request[0]!.kind).toBe(SPAN_KIND_SERVER);
    expect(request[0]!.parentSpanId).toBe(callerSpanId);

    // One tree: every span's parent is in the trace, except the gateway request's (the caller's).
    const orphans = spans.filter((s) => s !== request[0] && !byId.has(s.parentSpanId));
    expect(orphans.map((s) => `${s.service} ${s.name}`)).toEqual([]);

    const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
      const chain: ReceivedSpan[] = [];
      for (let p = byId.get(span.parentSpanId); p; p = byId.get(p.parentSpanId)) chain.push(p);
      return chain;
    };
    // The workflow runs under the gateway's Update-with-Start; the reserve activity (which
    // captures) under the workflow; WalletService's request under the activity; its SQL under it.
    const workflow = named('velora-orchestrator-worker', /^RunWorkflow:transferWorkflow$/)[0]!;
    expect(ancestors(workflow)).toContain(request[0]);
    const capture = named('velora-wallet', /\/internal\/transfers\/:transfer_id\/reserve$/)[0]!;
    expect(capture.kind).toBe(SPAN_KIND_SERVER);
    const captureChain = ancestors(capture);
    expect(captureChain.map((s) => s.service)).toContain('velora-orchestrator-worker');
    expect(captureChain).toContain(workflow);
    const sql = spans.filter(
      (s) => s.service === 'velora-wallet' && s.attributes['db.system'] === 'postgresql',
    );
    expect(sql.some((s) => ancestors(s).includes(capture))).toBe(true);
    // The statement's text, never its values.
    expect(sql.every((s) => !String(s.attributes['db.statement']).includes(alice.walletId))).toBe(true);
    // AuthService: the user's status and limits, read by the reserve activity.
    const authRequests = named('velora-auth', /^(GET|POST) /);
    expect(authRequests.some((s) => ancestors(s).includes(workflow))).toBe(true);
  });
});
