import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Hono } from 'hono';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../test/support/otlp-receiver.js';
import { testEnv } from '../test/support/test-env.js';
import { createDb } from './db.js';
import { createHttpClient } from './http-client.js';
import { createLogger } from './logger.js';
import { serveApp } from './serve.js';
import { createServiceApp } from './service-app.js';
import {
  activeTraceparent,
  shutdownTelemetry,
  startClientSpan,
  startTelemetry,
  traceHttpRequests,
  tracingEnabled,
} from './telemetry.js';

/**
 * Tracing in one process (the cross-process proof is test/e2e/tracing.test.ts): off without an
 * endpoint, and with one a request's server span continues the caller's traceparent, its SQL
 * and outgoing calls are its children, the callee continues the outgoing span, log lines carry
 * the trace id, and the spans reach a real OTLP/HTTP receiver.
 */
describe('telemetry', () => {
  it('is off, loading nothing, without an OTLP endpoint; refuses a malformed one by name', async () => {
    expect(await startTelemetry('test', {})).toBeUndefined();
    expect(
      await startTelemetry('test', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
    expect(tracingEnabled()).toBe(false);
    expect(traceHttpRequests()).toBeUndefined();
    expect(activeTraceparent()).toBeUndefined();
    const headers = {};
    expect(startClientSpan('wallet', 'GET', new URL('http://127.0.0.1/x'), headers)).toBeUndefined();
    expect(headers).toEqual({});
    await expect(startTelemetry('test', { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).rejects.toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });

  describe('on', () => {
    let receiver: OtlpReceiver;
    const lines: Record<string, unknown>[] = [];
    beforeAll(async () => {
      receiver = await startOtlpReceiver();
      const telemetry = await startTelemetry('test', {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}/`,
      });
      expect(telemetry).toBeDefined();
    });
    afterAll(async () => {
      await receiver?.close();
    });

    it('makes one connected trace of a request, its SQL, its upstream call and the callee', async () => {
      const log = createLogger(
        'test',
        'info',
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
            done();
          },
        }),
      );
      const { db } = createDb(testEnv('walletDatabaseUrl'), { name: 'velora-wallet' });
      const callee = createServiceApp({ service: 'callee', log, readiness: async () => ({}) }).app;
      callee.get('/v1/things/:id', (c) => c.json({ id: c.req.param('id') }));
      const server = await serveApp({ app: callee, port: 0, host: '127.0.0.1', log, handleSignals: false });
      const port = (server.address() as { port: number }).port;
      const upstream = createHttpClient({ name: 'callee', baseUrl: `http://127.0.0.1:${port}` });

      const { app } = createServiceApp({ service: 'caller', log, readiness: async () => ({}) });
      const sub = new Hono();
      sub.post('/:id/run', async (c) => {
        await sql`select 1 as one`.execute(db);
        const res = await upstream.request('GET', `/v1/things/${c.req.param('id')}`);
        log.info({ ok: res.ok }, 'called the callee');
        return c.json({ ok: res.ok });
      });
      app.route('/v1/jobs', sub);

      const traceId = randomBytes(16).toString('hex');
      const callerSpan = randomBytes(8).toString('hex');
      const res = await app.request('/v1/jobs/42/run', {
        method: 'POST',
        headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
      });
      expect(res.status).toBe(200);
      server.close();
      await db.destroy();
      await shutdownTelemetry();

      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      const names = spans.map((s) => `${s.service}|${s.name}`);
      const one = (name: string) => {
        const found = spans.filter((s) => s.name === name);
        expect(found, `${name} in ${names.join(', ')}`).toHaveLength(1);
        return found[0]!;
      };
      const request = one('POST /v1/jobs/:id/run');
      expect(request.parentSpanId).toBe(callerSpan);
      expect(request.service).toBe('velora-test');
      const query = one('SELECT velora-wallet');
      expect(query.parentSpanId).toBe(request.spanId);
      expect(query.attributes['db.statement']).toBe('select 1 as one');
      const call = one('GET callee');
      expect(call.parentSpanId).toBe(request.spanId);
      const served = one('GET /v1/things/:id');
      expect(served.parentSpanId).toBe(call.spanId);
      // The handler's log line names the request's span.
      expect(lines.find((l) => l.msg === 'called the callee')).toMatchObject({
        trace_id: traceId,
        span_id: request.spanId,
      });
    });
  });
});
