/**
 * Distributed tracing (OpenTelemetry), on only when an OTLP endpoint is configured.
 *
 * `startTelemetry(service)` is the first thing each service's `main.ts` does. With
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set, it registers a
 * tracer provider that batches spans to that collector over OTLP/HTTP (JSON), an
 * AsyncLocalStorage context manager and the W3C `traceparent` propagator. Without it nothing is
 * registered: the helpers below return before doing anything (a boolean test per request), so
 * a service that does not trace pays nothing for being able to (docs/observability.md has the
 * measured figures).
 *
 * What is traced, by hand rather than by monkey-patching instrumentations (which need module
 * loader hooks under ESM and cost more per request than the whole wallet read): every HTTP
 * request a service answers ({@link traceHttpRequests}, in the service skeleton), every call
 * made with `lib/http-client.ts` ({@link startClientSpan}, which also sends `traceparent`),
 * every SQL statement sent through Kysely ({@link traceSqlQuery}), and the Temporal client,
 * workflows and activities through `@temporalio/interceptors-opentelemetry`.
 */
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context as OtelContext,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { MiddlewareHandler } from 'hono';
import type { LogEvent } from 'kysely';
import { z } from 'zod';

const telemetryEnv = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
});

/** The tracer provider of this process, when tracing is on. */
export interface Telemetry {
  readonly service: string;
  /** Ends every span of this process (workflow spans from the worker's sink included). */
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
  shutdown(): Promise<void>;
}

let active: Telemetry | undefined;
let tracer: Tracer | undefined;

/**
 * Starts tracing for `service` when an OTLP endpoint is configured (see the module comment) and
 * returns it; returns `undefined` otherwise, having neither loaded the SDK nor registered
 * anything. Malformed variables fail the start with a message naming them. Idempotent.
 */
export async function startTelemetry(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Telemetry | undefined> {
  if (active) return active;
  const parsed = telemetryEnv.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new Error(`invalid tracing configuration: ${names} (${parsed.error.message})`);
  }
  const config = parsed.data;
  const endpoint = config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? config.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || config.OTEL_SDK_DISABLED === 'true') return undefined;

  // Loaded only here: a process that does not trace never loads the SDK.
  const [
    { AsyncLocalStorageContextManager },
    { W3CTraceContextPropagator },
    { OTLPTraceExporter },
    resources,
    sdk,
    semconv,
  ] = await Promise.all([
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const resource = new resources.Resource({
    [semconv.ATTR_SERVICE_NAME]: config.OTEL_SERVICE_NAME ?? `velora-${service}`,
  });
  // The collector's traces path under the generic endpoint, as the OTLP exporter spec says. Its
  // headers and timeout come from OTEL_EXPORTER_OTLP_*, the batch processor's from OTEL_BSP_*.
  const url = config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  const spanProcessor = new sdk.BatchSpanProcessor(new OTLPTraceExporter({ url }));
  const provider = new sdk.BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({
    contextManager: new AsyncLocalStorageContextManager().enable(),
    propagator: new W3CTraceContextPropagator(),
  });
  tracer = trace.getTracer('velora');
  active = {
    service,
    spanProcessor,
    resource,
    shutdown: () => provider.shutdown(),
  };
  return active;
}

/** Whether this process traces (startTelemetry found an endpoint). */
export function tracingEnabled(): boolean {
  return tracer !== undefined;
}

/** Flushes and stops tracing (spans still batched are sent); a no-op when tracing is off. */
export async function shutdownTelemetry(): Promise<void> {
  await active?.shutdown();
}

const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/livez', '/metrics']);

/**
 * Hono middleware of the service skeleton: one SERVER span per request, continuing the caller's
 * `traceparent`, active while the handler runs (so its SQL and upstream calls are its children
 * and its log lines carry its trace id). `undefined` when tracing is off.
 */
export function traceHttpRequests(): MiddlewareHandler | undefined {
  if (!tracer) return undefined;
  const t = tracer;
  return async (c, next) => {
    // Probes and scrapes would bury the requests that matter.
    if (UNTRACED_PATHS.has(c.req.path)) return next();
    const method = c.req.method;
    const carrier: Record<string, string> = {};
    const traceparent = c.req.header('traceparent');
    if (traceparent) carrier.traceparent = traceparent;
    const tracestate = c.req.header('tracestate');
    if (tracestate) carrier.tracestate = tracestate;
    const parent = traceparent ? propagation.extract(ROOT_CONTEXT, carrier) : ROOT_CONTEXT;
    const span = t.startSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': c.req.path } },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = c.req.routePath;
      const status = c.res.status;
      span.updateName(`${method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      if (c.error) span.recordException(c.error);
      span.end();
    }
  };
}

/** The W3C `traceparent` of the active span, or `undefined` (tracing off, or no span). */
export function activeTraceparent(): string | undefined {
  if (!tracer) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** A CLIENT span around one outgoing HTTP call; `end` records the answer's status or the error. */
export interface ClientSpan {
  end(status: number | undefined, error?: unknown): void;
}

/**
 * Starts a CLIENT span for an outgoing call to `upstream` and writes its `traceparent` (and
 * `tracestate`) into `headers`, so the callee's span becomes its child. `undefined` when
 * tracing is off (the headers are left as they are).
 */
export function startClientSpan(
  upstream: string,
  method: string,
  url: URL,
  headers: Record<string, string>,
): ClientSpan | undefined {
  if (!tracer) return undefined;
  const span = tracer.startSpan(`${method} ${upstream}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'http.request.method': method,
      'server.address': url.hostname,
      'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      'url.path': url.pathname,
      'peer.service': upstream,
    },
  });
  propagation.inject(trace.setSpan(context.active(), span), headers);
  return {
    end(status, error) {
      if (status !== undefined) span.setAttribute('http.response.status_code', status);
      if (error !== undefined || (status !== undefined && status >= 500)) {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : undefined,
        });
      }
      span.end();
    },
  };
}

/**
 * Kysely `log` hook that records each SQL statement as a CLIENT span of the active request
 * (`db.statement` is the parameterised text: values, and so secrets, never leave the process).
 * Kysely reports a query when it finished, so the span is back-dated by its duration.
 * Statements outside any span are not recorded. `undefined` when tracing is off (Kysely then
 * does not even time its queries).
 */
export function traceSqlQuery(database: string): ((event: LogEvent) => void) | undefined {
  if (!tracer) return undefined;
  const t = tracer;
  return (event) => {
    // Background loops (the outbox relay, the sealer, housekeeping) serve no request: their
    // statements would each make a trace of one span.
    if (!trace.getSpan(context.active())) return;
    const end = performance.timeOrigin + performance.now();
    const sql = event.query.sql;
    const operation = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
    const span: Span = t.startSpan(`${operation} ${database}`, {
      kind: SpanKind.CLIENT,
      startTime: end - event.queryDurationMillis,
      attributes: {
        'db.system': 'postgresql',
        'db.name': database,
        'db.operation': operation,
        'db.statement': sql,
      },
    });
    if (event.level === 'error') {
      const code = pgCodeOf(event.error);
      if (code) span.setAttribute('db.response.status_code', code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    }
    span.end(end);
  };
}

function pgCodeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

/** The trace and span id of the active span, for log lines; `undefined` outside any span. */
export function activeTraceIds(
  ctx: OtelContext = context.active(),
): { trace_id: string; span_id: string } | undefined {
  const span = trace.getSpan(ctx);
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * The Temporal client interceptors that start workflows, updates, signals and queries as
 * children of the active span and carry its context to the workflow in Temporal headers
 * (`[]` when tracing is off).
 */
export async function temporalClientInterceptors(): Promise<WorkflowClientInterceptor[]> {
  if (!tracer) return [];
  const { OpenTelemetryWorkflowClientInterceptor } =
    await import('@temporalio/interceptors-opentelemetry/lib/client/index.js');
  return [new OpenTelemetryWorkflowClientInterceptor()];
}
