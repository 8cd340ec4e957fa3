import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { Pool } from 'undici';
import type { Problem } from './problem.js';
import { startClientSpan } from './telemetry.js';

/** A response the upstream gave: success with its JSON body, or a problem it reported. */
export type UpstreamResult<T> =
  | { ok: true; status: number; data: T; headers: Headers }
  | { ok: false; status: number; problem: Problem; headers: Headers };

/**
 * Thrown when no usable HTTP answer arrived: connection refused, timeout, or a body that is not
 * JSON. Callers treat it as an outage (retry, circuit-break), never as a domain outcome.
 */
export class UpstreamUnavailableError extends Error {
  override readonly name = 'UpstreamUnavailableError';
  constructor(
    readonly upstream: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${upstream}: ${message}`, options);
  }
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as `Idempotency-Key`; required by every mutating internal call. */
  idempotencyKey?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Form-encoded body instead of JSON (OAuth token requests). */
  form?: Record<string, string>;
  signal?: AbortSignal;
}

export interface HttpClient {
  readonly name: string;
  request<T>(method: string, path: string, options?: RequestOptions): Promise<UpstreamResult<T>>;
}

/** Yields a bearer token; `invalidate()` drops a cached one the upstream refused. */
export type TokenSource = (() => Promise<string>) & { invalidate?: () => void };

export interface HttpClientOptions {
  /** Name used in errors and logs, e.g. "wallet". */
  name: string;
  baseUrl: string;
  timeoutMs?: number;
  /**
   * Supplies a bearer token for every request (service credentials). When the upstream answers
   * 401 and the source can `invalidate()` its cache, the request is sent once more with a fresh
   * token (a 401 means nothing was done, so this is safe for mutating calls too).
   */
  token?: TokenSource;
  /** Headers added to every request (request id, traceparent). */
  defaultHeaders?: () => Record<string, string>;
}

/**
 * Keep-alive connection pools (undici), one per origin, shared by every client of the process.
 * undici honours the server's `Keep-Alive: timeout` hint, so an idle socket is dropped before
 * the server closes it. Against node:http with a keep-alive agent it costs about 40 % less CPU
 * per exchange on the gateway's read path (docs/benchmarks.md, "Reads").
 */
const POOLS = new Map<string, Pool>();
/** Sockets per origin at most: beyond the concurrency one process sends any one service. */
const MAX_CONNECTIONS_PER_ORIGIN = 256;
function poolFor(origin: string): Pool {
  let pool = POOLS.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections: MAX_CONNECTIONS_PER_ORIGIN, pipelining: 1 });
    POOLS.set(origin, pool);
  }
  return pool;
}

type ResponseHeaders = Record<string, string | string[] | undefined>;

interface RawResponse {
  status: number;
  statusText: string;
  headers: ResponseHeaders;
  text: string;
}

class TimeoutError extends Error {}

/**
 * Ends one exchange when its time is up or the caller's signal fires. undici takes an
 * EventEmitter as the signal; an AbortController per request doubled the client's CPU.
 */
class Deadline extends EventEmitter {
  aborted = false;
  reason: Error | undefined;
  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/**
 * One HTTP exchange on a pooled keep-alive connection: no WHATWG Request/Response, Headers or
 * AbortSignal objects per call (on the gateway's read path they cost more CPU than the rest of
 * the request). The body is read inside the timeout.
 */
async function exchange(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<RawResponse> {
  const deadline = new Deadline();
  const timer = setTimeout(() => deadline.abort(new TimeoutError('timed out')), timeoutMs);
  const onAbort = () => deadline.abort(new Error('aborted'));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await poolFor(url.origin).request({
      method,
      path: `${url.pathname}${url.search}`,
      headers,
      body,
      signal: deadline,
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      statusText: STATUS_CODES[res.statusCode] ?? '',
      headers: res.headers,
      text,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** A response's headers as WHATWG Headers, built only when a caller asks for them. */
function lazyHeaders(raw: ResponseHeaders): () => Headers {
  let built: Headers | undefined;
  return () => {
    if (!built) {
      built = new Headers();
      for (const [name, value] of Object.entries(raw)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) built.append(name, v);
      }
    }
    return built;
  };
}

/** A small JSON-over-HTTP client with a per-request timeout and problem+json decoding. */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  return {
    name: options.name,
    async request<T>(method: string, path: string, req: RequestOptions = {}): Promise<UpstreamResult<T>> {
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...options.defaultHeaders?.(),
        ...req.headers,
      };
      let body: string | undefined;
      if (req.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(req.form).toString();
      } else if (req.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(req.body);
      }
      if (req.idempotencyKey) headers['idempotency-key'] = req.idempotencyKey;
      const url = new URL(`${base}${path}`);
      const send = async (): Promise<RawResponse> => {
        if (options.token) headers.authorization = `Bearer ${await options.token()}`;
        const span = startClientSpan(options.name, method, url, headers);
        try {
          const res = await exchange(
            url,
            method,
            headers,
            body,
            req.timeoutMs ?? options.timeoutMs ?? 10_000,
            req.signal,
          );
          span?.end(res.status);
          return res;
        } catch (err) {
          span?.end(undefined, err);
          const reason =
            err instanceof TimeoutError ? 'timed out' : err instanceof Error ? err.message : String(err);
          throw new UpstreamUnavailableError(options.name, `${method} ${path} failed: ${reason}`, {
            cause: err,
          });
        }
      };
      let res = await send();
      if (res.status === 401 && options.token?.invalidate) {
        // A cached service token can outlive its key (rotation) or be revoked: fetch a new one once.
        options.token.invalidate();
        res = await send();
      }
      let json: unknown = undefined;
      if (res.text.length > 0) {
        try {
          json = JSON.parse(res.text);
        } catch (err) {
          throw new UpstreamUnavailableError(
            options.name,
            `${method} ${path} answered ${res.status} with a non-JSON body`,
            {
              cause: err,
            },
          );
        }
      }
      const headersOf = lazyHeaders(res.headers);
      if (res.status >= 200 && res.status < 300) {
        return {
          ok: true,
          status: res.status,
          data: json as T,
          get headers() {
            return headersOf();
          },
        };
      }
      const problem = isProblem(json)
        ? json
        : {
            type: 'about:blank',
            title: res.statusText,
            status: res.status,
            detail: `${options.name} answered ${res.status}`,
            code: oauthErrorCode(json) ?? `http_${res.status}`,
          };
      return {
        ok: false,
        status: res.status,
        problem,
        get headers() {
          return headersOf();
        },
      };
    },
  };
}

function isProblem(v: unknown): v is Problem {
  return typeof v === 'object' && v !== null && 'code' in v && 'status' in v;
}

function oauthErrorCode(v: unknown): string | undefined {
  return typeof v === 'object' && v !== null && 'error' in v && typeof v.error === 'string'
    ? v.error
    : undefined;
}

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  /** Refresh this many seconds before expiry. */
  skewSeconds?: number;
}

/**
 * Returns a function that yields a `client_credentials` access token, cached until shortly
 * before it expires; concurrent callers share one in-flight request.
 */
export function clientCredentialsToken(creds: ClientCredentials): TokenSource {
  const client = createHttpClient({ name: 'auth-token', baseUrl: new URL(creds.tokenUrl).origin });
  const path = new URL(creds.tokenUrl).pathname;
  let cached: { token: string; refreshAt: number } | undefined;
  let inflight: Promise<string> | undefined;
  const source: TokenSource = async () => {
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    inflight ??= (async () => {
      try {
        const res = await client.request<{ access_token: string; expires_in: number }>('POST', path, {
          form: { grant_type: 'client_credentials', scope: creds.scope },
          headers: {
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(creds.clientId)}:${encodeURIComponent(creds.clientSecret)}`).toString('base64')}`,
          },
        });
        if (!res.ok) {
          throw new UpstreamUnavailableError('auth', `client_credentials grant refused: ${res.problem.code}`);
        }
        const skew = (creds.skewSeconds ?? 60) * 1000;
        cached = {
          token: res.data.access_token,
          refreshAt: Date.now() + Math.max(0, res.data.expires_in * 1000 - skew),
        };
        return cached.token;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };
  source.invalidate = () => {
    cached = undefined;
  };
  return source;
}
