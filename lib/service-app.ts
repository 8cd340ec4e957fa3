import { randomUUID } from 'node:crypto';
import { Hono, type Context, type Env } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { Registry, collectDefaultMetrics, Gauge, Histogram } from 'prom-client';
import type { Logger } from './logger.js';
import { createErrorHandler, notFoundHandler, problem, problemResponse } from './problem.js';

export interface ServiceAppOptions {
  service: string;
  log: Logger;
  /** Each dependency's reachability; `/readyz` is 200 only when every one is true. */
  readiness: () => Promise<Record<string, boolean>>;
  /**
   * Dependencies that only one feature needs, each with that feature's name: reported in
   * `checks`, and when down their feature is listed in `degraded`, but they never make `/readyz`
   * fail (WalletService moves money without MongoDB; only history waits for it).
   */
  degradable?: () => Promise<Record<string, { up: boolean; feature: string }>>;
  registry?: Registry;
  /** Largest accepted request body in bytes (chunked bodies included). */
  maxBodyBytes?: number;
  /**
   * Serve `/metrics` on this app (default). `false` leaves it to a separate listener built
   * with {@link createMetricsApp} (the public gateway must not expose it).
   */
  metricsRoute?: boolean;
}

/**
 * hono/secure-headers' defaults (it applies them after the handler, which costs the fast path).
 * A handler that returns its own `new Response(...)` must pass `c.res.headers` on to keep them
 * (gateway/platform/forward.ts does).
 */
const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['cross-origin-resource-policy', 'same-origin'],
  ['cross-origin-opener-policy', 'same-origin'],
  ['origin-agent-cluster', '?1'],
  ['referrer-policy', 'no-referrer'],
  ['strict-transport-security', 'max-age=15552000; includeSubDomains'],
  ['x-content-type-options', 'nosniff'],
  ['x-dns-prefetch-control', 'off'],
  ['x-download-options', 'noopen'],
  ['x-frame-options', 'SAMEORIGIN'],
  ['x-permitted-cross-domain-policies', 'none'],
  ['x-xss-protection', '0'],
];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const requestIds = new WeakMap<Request, string>();

/** The id the skeleton gave this request (the caller's when well-formed, else a new one). */
export function requestIdOf(c: Context): string | undefined {
  return requestIds.get(c.req.raw);
}

/**
 * The skeleton every Velora HTTP service shares: request ids (echoed when well-formed),
 * security headers, a body limit, access logs without secrets, `/healthz`, `/readyz`,
 * `/metrics`, problem+json for every error and unknown route.
 */
export function createServiceApp<E extends Env = Env>(
  options: ServiceAppOptions,
): { app: Hono<E>; registry: Registry } {
  const registry = options.registry ?? new Registry();
  registry.setDefaultLabels({ service: options.service });
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_server_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const app = new Hono<E>();
  app.use('*', async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    requestIds.set(c.req.raw, requestId);
    // Set before the handler runs, so they go into the response the context builds: a header set
    // after it would make @hono/node-server rebuild the response as a WHATWG Response and stream
    // it back (the slow path; on a wallet read that doubled the CPU per request).
    c.header('x-request-id', requestId);
    for (const [name, value] of SECURITY_HEADERS) c.header(name, value);
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    duration.observe({ method: c.req.method, route: c.req.routePath, status: String(c.res.status) }, seconds);
    if (c.req.path !== '/healthz' && c.req.path !== '/metrics') {
      options.log.debug(
        {
          requestId,
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    }
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 64 * 1024,
      onError: (c) => problemResponse(c, problem(413, 'payload_too_large', 'request body is too large')),
    }),
  );
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  const dependencyUp = new Gauge({
    name: 'dependency_up',
    help: 'Whether a dependency answered the last /readyz probe (1) or not (0); required="false" ones only degrade a feature',
    labelNames: ['dependency', 'required'],
    registers: [registry],
  });
  app.get('/readyz', async (c) => {
    const [checks, optional] = await Promise.all([
      options.readiness().catch(() => ({ readiness: false })),
      options.degradable?.().catch(() => undefined),
    ]);
    const ready = Object.values(checks).every(Boolean);
    for (const [dependency, up] of Object.entries(checks))
      dependencyUp.set({ dependency, required: 'true' }, up ? 1 : 0);
    if (!options.degradable)
      return c.json({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
    const degraded = new Set<string>();
    const all: Record<string, boolean> = { ...checks };
    for (const [dependency, { up, feature }] of Object.entries(optional ?? {})) {
      all[dependency] = up;
      dependencyUp.set({ dependency, required: 'false' }, up ? 1 : 0);
      if (!up) degraded.add(feature);
    }
    // A failed degradable() (a bug, not an outage) says so rather than claiming all is well.
    if (!optional) degraded.add('unknown');
    return c.json(
      { status: ready ? 'ready' : 'unavailable', checks: all, degraded: [...degraded] },
      ready ? 200 : 503,
    );
  });
  if (options.metricsRoute !== false) app.get('/metrics', metricsHandler(registry));
  app.onError(createErrorHandler(options.log));
  app.notFound(notFoundHandler);
  return { app, registry };
}

function metricsHandler(registry: Registry) {
  return async (c: Context) =>
    c.text(await registry.metrics(), 200, { 'content-type': registry.contentType });
}

/** An app that serves only `GET /metrics` of `registry`, for a private listener. */
export function createMetricsApp(registry: Registry): Hono {
  const app = new Hono();
  app.get('/metrics', metricsHandler(registry));
  app.notFound(notFoundHandler);
  return app;
}

/** Resolves to true when `check` settles within `ms`, false on error or timeout. */
export async function probe(check: () => Promise<unknown>, ms = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), ms);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
