import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import {
  createHttpClient,
  UpstreamUnavailableError,
  type HttpClient,
  type RequestOptions,
  type UpstreamResult,
} from '../../lib/http-client.js';

/**
 * One upstream service (auth or wallet) as the gateway sees it: a JSON client for calls the
 * gateway makes itself, and `forward` for the public auth routes it passes through unchanged.
 * Both share one circuit breaker, so an outage turns into fast 503s instead of piled-up
 * requests; only idempotent reads are retried.
 */
export interface Upstream {
  readonly name: string;
  readonly client: HttpClient;
  forward(request: ForwardRequest): Promise<Response>;
  /** True while the breaker lets calls through (closed or half-open). */
  isAvailable(): boolean;
}

export interface ForwardRequest {
  method: string;
  /** Path and query, e.g. `/v1/auth/login`. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface UpstreamOptions {
  name: string;
  baseUrl: string;
  timeoutMs: number;
  breakAfter: number;
  halfOpenAfterMs: number;
  /** Service token for calls the gateway makes on its own behalf (never for forwarded calls). */
  token?: () => Promise<string>;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A 5xx from an upstream counts against its breaker like a refused connection. */
class UpstreamServerError extends Error {
  constructor(readonly result: unknown) {
    super('upstream answered 5xx');
  }
}

/** Builds an {@link Upstream} with a per-attempt timeout, read retries and a circuit breaker. */
export function createUpstream(options: UpstreamOptions): Upstream {
  const raw = createHttpClient({
    name: options.name,
    baseUrl: options.baseUrl,
    timeoutMs: options.timeoutMs,
    token: options.token,
  });
  const base = options.baseUrl.replace(/\/+$/, '');
  const failure = handleWhen(
    (err) => err instanceof UpstreamUnavailableError || err instanceof UpstreamServerError,
  );
  const breaker: CircuitBreakerPolicy = circuitBreaker(failure, {
    halfOpenAfter: options.halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(options.breakAfter),
  });
  const readRetry = retry(failure, {
    maxAttempts: 2,
    backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 200 }),
  });

  /** Runs one call through the breaker (and the retry for reads), translating a 5xx into a failure. */
  async function guarded<T>(
    method: string,
    call: () => Promise<T>,
    isServerError: (r: T) => boolean,
  ): Promise<T> {
    const once = () =>
      breaker.execute(async () => {
        const result = await call();
        if (isServerError(result)) throw new UpstreamServerError(result);
        return result;
      });
    try {
      return await (IDEMPOTENT.has(method.toUpperCase()) ? readRetry.execute(once) : once());
    } catch (err) {
      if (err instanceof UpstreamServerError) return err.result as T;
      if (err instanceof BrokenCircuitError) {
        throw new UpstreamUnavailableError(options.name, 'circuit open after repeated failures', {
          cause: err,
        });
      }
      throw err;
    }
  }

  const client: HttpClient = {
    name: options.name,
    request<T>(method: string, path: string, req?: RequestOptions): Promise<UpstreamResult<T>> {
      return guarded(
        method,
        () => raw.request<T>(method, path, req),
        (r) => !r.ok && r.status >= 500,
      );
    },
  };

  async function forward(req: ForwardRequest): Promise<Response> {
    return guarded(
      req.method,
      async () => {
        const timeout = AbortSignal.timeout(options.timeoutMs);
        try {
          const res = await fetch(`${base}${req.path}`, {
            method: req.method,
            headers: req.headers,
            body: req.body,
            signal: timeout,
            redirect: 'manual',
          });
          // Read the body inside the timeout so a stalled upstream cannot hold the request.
          const body = await res.arrayBuffer();
          return new Response(body.byteLength > 0 ? body : null, {
            status: res.status,
            headers: res.headers,
          });
        } catch (err) {
          const reason = timeout.aborted ? 'timed out' : err instanceof Error ? err.message : String(err);
          throw new UpstreamUnavailableError(options.name, `${req.method} ${req.path} failed: ${reason}`, {
            cause: err,
          });
        }
      },
      (res) => res.status >= 500,
    );
  }

  return {
    name: options.name,
    client,
    forward,
    isAvailable: () => breaker.state !== CircuitState.Open && breaker.state !== CircuitState.Isolated,
  };
}
