import type { Problem } from './problem.js';

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
      const send = async (): Promise<Response> => {
        if (options.token) headers.authorization = `Bearer ${await options.token()}`;
        const timeout = AbortSignal.timeout(req.timeoutMs ?? options.timeoutMs ?? 10_000);
        const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
        try {
          return await fetch(`${base}${path}`, { method, headers, body, signal });
        } catch (err) {
          const reason = timeout.aborted ? 'timed out' : err instanceof Error ? err.message : String(err);
          throw new UpstreamUnavailableError(options.name, `${method} ${path} failed: ${reason}`, {
            cause: err,
          });
        }
      };
      let res = await send();
      if (res.status === 401 && options.token?.invalidate) {
        // A cached service token can outlive its key (rotation) or be revoked: fetch a new one once.
        await res.arrayBuffer();
        options.token.invalidate();
        res = await send();
      }
      const text = await res.text();
      let json: unknown = undefined;
      if (text.length > 0) {
        try {
          json = JSON.parse(text);
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
      if (res.ok) return { ok: true, status: res.status, data: json as T, headers: res.headers };
      const problem = isProblem(json)
        ? json
        : {
            type: 'about:blank',
            title: res.statusText,
            status: res.status,
            detail: `${options.name} answered ${res.status}`,
            code: oauthErrorCode(json) ?? `http_${res.status}`,
          };
      return { ok: false, status: res.status, problem, headers: res.headers };
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
