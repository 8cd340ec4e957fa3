import { randomUUID } from 'node:crypto';
import { Hono, type Context, type Env, type MiddlewareHandler, type TypedResponse } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { JSONParsed } from 'hono/utils/types';
import { bodyLimit } from 'hono/body-limit';
import { Registry, collectDefaultMetrics, Gauge, Histogram } from 'prom-client';
import type { Logger } from './logger.js';
import { createErrorHandler, notFoundHandler, problem, problemResponse } from './problem.js';
import { traceHttpRequests } from './telemetry.js';

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
 * hono/secure-headers' defaults, set by the skeleton on every response (after the handler: see
 * {@link responseHeaders} for why not with `c.header()`).
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
});

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** Request bodies are small JSON documents; a service may raise it with `maxBodyBytes`. */
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
/** How long a readiness probe waits for a dependency before calling it down. */
const PROBE_TIMEOUT_MS = 2000;
const BODYLESS = new Set(['GET', 'HEAD']);

interface RequestState {
  requestId: string;
  headers: Record<string, string>;
}
/**
 * Kept on the context itself (bodyLimit replaces `c.req.raw` when it had to read a chunked body,
 * the context stays): a WeakMap entry per request cost more than the property.
 */
const REQUEST_STATE = Symbol('velora.requestState');
type WithState = Context & { [REQUEST_STATE]?: RequestState };
/** Responses built by {@link respond}: they already carry the request's headers. */
const completeResponses = new WeakSet<Response>();

/** The id the skeleton gave this request (the caller's when well-formed, else a new one). */
export function requestIdOf(c: Context): string | undefined {
  return (c as WithState)[REQUEST_STATE]?.requestId;
}

/**
 * The headers every response to this request gets (request id, security headers, and what
 * middleware adds, e.g. the rate-limit budget). Middleware writes here instead of calling
 * `c.header()`: that builds a WHATWG Headers object per request (and the server converts it
 * back), which cost more CPU than Hono's routing on a wallet read. The skeleton copies them onto
 * the handler's response, where the handler's own headers win; {@link respond} sends them as
 * they are.
 */
export function responseHeaders(c: Context): Record<string, string> {
  const state = (c as WithState)[REQUEST_STATE];
  if (!state) throw new Error('responseHeaders: the request did not pass createServiceApp');
  return state.headers;
}

/**
 * The lightest response: a body that is already text, the request's headers as a plain object.
 * @hono/node-server writes it with one `writeHead`, no Headers object on the way; hot routes
 * (wallet reads) answer with it.
 */
export function respond(
  c: Context,
  status: number,
  body: string,
  contentType = 'application/json',
): Response {
  const headers = responseHeaders(c);
  headers['content-type'] = contentType;
  const res = new Response(body, { status, headers });
  completeResponses.add(res);
  return res;
}

/** {@link respond} with a JSON body, typed like `c.json()` so OpenAPI routes accept it. */
export function respondJson<T, S extends ContentfulStatusCode>(
  c: Context,
  data: T,
  status: S,
): Response & TypedResponse<JSONParsed<T>, S, 'json'> {
  return respond(c, status, JSON.stringify(data)) as Response & TypedResponse<JSONParsed<T>, S, 'json'>;
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

  // One child per (method, route, status): prom-client would otherwise hash the label set on
  // every observation.
  const durationOf = new Map<string, { observe(seconds: number): void }>();

  const app = new Hono<E>();
  const traced = traceHttpRequests();
  if (traced) app.use('*', traced);
  app.use('*', async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    // The spread first: V8 then copies the constant object in one step.
    const headers: Record<string, string> = { ...SECURITY_HEADERS, 'x-request-id': requestId };
    (c as WithState)[REQUEST_STATE] = { requestId, headers };
    const started = performance.now();
    await next();
    const res = c.res;
    if (!completeResponses.has(res)) {
      const target = res.headers;
      for (const name in headers) if (!target.has(name)) target.set(name, headers[name]!);
    }
    const seconds = (performance.now() - started) / 1000;
    const method = c.req.method;
    const route = c.req.routePath;
    const status = res.status;
    const key = `${method} ${status} ${route}`;
    let observe = durationOf.get(key);
    if (!observe) {
      observe = duration.labels({ method, route, status: String(status) });
      durationOf.set(key, observe);
    }
    observe.observe(seconds);
    if (options.log.isLevelEnabled('debug') && c.req.path !== '/healthz' && c.req.path !== '/metrics') {
      options.log.debug(
        { requestId, method, path: c.req.path, status, ms: Math.round(seconds * 1000) },
        'request',
      );
    }
  });
  const limitBody = bodyLimit({
    maxSize: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    onError: (c) => problemResponse(c, problem(413, 'payload_too_large', 'request body is too large')),
  });
  // GET and HEAD carry no body (@hono/node-server gives them none), and asking for one makes it
  // build a whole WHATWG Request: a tenth of the gateway's CPU on a wallet read.
  const limitBodyUnlessBodyless: MiddlewareHandler = (c, next) =>
    BODYLESS.has(c.req.method) ? next() : limitBody(c, next);
  app.use('*', limitBodyUnlessBodyless);
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
export async function probe(check: () => Promise<unknown>, ms = PROBE_TIMEOUT_MS): Promise<boolean> {
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
