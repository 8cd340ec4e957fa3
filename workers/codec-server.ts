/**
 * The payload codec server (Temporal's remote codec protocol): `POST /encode` and `POST /decode`
 * take and return `{"payloads":[{"metadata":{…base64},"data":"base64"}]}` so the Web UI and
 * `temporal --codec-endpoint` show decrypted payloads to an operator who is allowed to see them.
 * It runs on its own listener in the worker process (see workers/main.ts), never on a public port.
 *
 * Who may decode: a bearer access token from AuthService with the `admin` scope (verified
 * against the JWKS), or the configured operator token (the CLI; the local stack). A browser
 * gets a session cookie by posting one of those to `/session` (the form at `/`); the Web UI
 * then sends the cookie (its "include cross-origin credentials" codec setting).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie, setCookie } from 'hono/cookie';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { z } from 'zod';
import { env, secret } from '../lib/config.js';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../lib/jwt-verifier.js';
import type { Logger } from '../lib/logger.js';
import {
  keyringFromConfig,
  createPayloadCodec,
  PayloadDecryptionError,
  type PayloadCodecConfig,
} from '../lib/payload-codec.js';
import {
  createErrorHandler,
  notFoundHandler,
  problem,
  problemResponse,
  ProblemError,
  unsupportedMediaTypeProblem,
  validationProblem,
} from '../lib/problem.js';
import { hasJsonBody } from '../lib/json-body.js';

/** Environment of the codec server (spread into the worker's schema). */
export const codecServerEnv = {
  CODEC_SERVER_HOST: env.string('127.0.0.1'),
  /** 0 turns the codec server off; it also stays off while the codec itself is off. */
  CODEC_SERVER_PORT: z.coerce.number().int().min(0).max(65535).default(8084),
  /** Origins of the Web UI that call it from the browser. */
  CODEC_SERVER_CORS_ORIGINS: env.list('http://127.0.0.1:8233,http://localhost:8233'),
  /** A static operator token (≥ 32 characters) accepted besides admin access tokens. */
  CODEC_SERVER_OPERATOR_TOKEN: env.optional(
    secret(z.string().min(32, 'must be at least 32 characters'), { requiredInProduction: false }),
  ),
  AUTH_ISSUER: env.url('http://127.0.0.1:8081'),
  AUTH_JWKS_URL: env.url('http://127.0.0.1:8081/.well-known/jwks.json'),
  JWT_AUDIENCE: env.string('velora'),
};

const CODEC_ADMIN_SCOPE = 'admin';
const SESSION_COOKIE = 'velora_codec_session';
const SESSION_SECONDS = 8 * 3600;

export interface CodecServerOptions {
  codec: PayloadCodec;
  log: Logger;
  corsOrigins: readonly string[];
  /** Verifies AuthService access tokens (JWKS); omit to accept only the operator token. */
  verifyToken?: AccessTokenVerifier;
  operatorToken?: string;
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const payloadsBody = z.object({
  // Proto3 JSON leaves an empty list out: `temporal workflow query|metadata` encodes the query's
  // (absent) arguments as `{}`, which is zero payloads, not a malformed request.
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), base64).optional(),
        data: base64.optional(),
      }),
    )
    .max(1000)
    .default([]),
});

/** Builds the codec server app; test it with `app.request()`. */
export function createCodecServerApp(options: CodecServerOptions): Hono {
  const sessions = new Map<string, { operator: string; expiresAt: number }>();
  const operatorDigest = options.operatorToken ? sha256(options.operatorToken) : undefined;

  /** Who is asking: a valid operator token, an admin access token, or a session cookie. */
  async function authenticate(c: Context): Promise<string> {
    const header = c.req.header('authorization');
    if (header !== undefined) return bearerOperator(header);
    const session = sessions.get(getCookie(c, SESSION_COOKIE) ?? '');
    if (session && session.expiresAt > Date.now()) return session.operator;
    throw unauthorized('a bearer token with the admin scope or a codec session is required');
  }

  async function bearerOperator(header: string): Promise<string> {
    const token = /^Bearer\s+(\S+)$/i.exec(header.trim())?.[1];
    if (!token) throw unauthorized('a bearer token is required');
    if (operatorDigest && timingSafeEqual(sha256(token), operatorDigest)) return 'operator-token';
    if (!options.verifyToken || token.split('.').length !== 3) throw unauthorized('the token is invalid');
    const principal = await options.verifyToken(token);
    if (!principal.scopes.has(CODEC_ADMIN_SCOPE)) {
      throw new ProblemError(
        403,
        'insufficient_scope',
        `decoding payloads requires the ${CODEC_ADMIN_SCOPE} scope`,
        {},
        { 'www-authenticate': `Bearer error="insufficient_scope", scope="${CODEC_ADMIN_SCOPE}"` },
      );
    }
    return principal.subject;
  }

  const app = new Hono();
  app.use('*', secureHeaders());
  app.use(
    '*',
    cors({
      origin: (origin) => (options.corsOrigins.includes(origin) ? origin : null),
      allowMethods: ['POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Authorization', 'X-Namespace'],
      credentials: true,
      maxAge: 600,
    }),
  );
  app.use(
    '*',
    bodyLimit({
      maxSize: 4 * 1024 * 1024,
      onError: (c) => problemResponse(c, problem(413, 'payload_too_large', 'request body is too large')),
    }),
  );
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  for (const direction of ['encode', 'decode'] as const) {
    app.post(`/${direction}`, async (c) => {
      const operator = await authenticate(c);
      if (!hasJsonBody(c)) {
        return problemResponse(c, unsupportedMediaTypeProblem());
      }
      const parsed = payloadsBody.safeParse(await c.req.json());
      if (!parsed.success) return problemResponse(c, validationProblem(parsed.error));
      const payloads = parsed.data.payloads.map(fromJson);
      let result: Payload[];
      try {
        result = await options.codec[direction](payloads);
      } catch (err) {
        if (!(err instanceof PayloadDecryptionError)) throw err;
        return problemResponse(c, problem(422, 'payload_undecodable', err.message));
      }
      // Who read which namespace's payloads, never the payloads themselves.
      options.log.info(
        { operator, direction, namespace: c.req.header('x-namespace'), count: payloads.length },
        'codec request',
      );
      return c.json({ payloads: result.map(toJson) });
    });
  }

  // A browser session for the Web UI: the form posts a token once, the cookie does the rest.
  app.get('/', (c) => c.html(SESSION_FORM));
  app.post('/session', async (c) => {
    const form: Record<string, unknown> = await c.req.parseBody().catch(() => ({}));
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    const operator = await bearerOperator(c.req.header('authorization') ?? `Bearer ${token}`);
    const id = randomBytes(32).toString('base64url');
    for (const [key, s] of sessions) if (s.expiresAt <= Date.now()) sessions.delete(key);
    sessions.set(id, { operator, expiresAt: Date.now() + SESSION_SECONDS * 1000 });
    setCookie(c, SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: SESSION_SECONDS,
      secure: new URL(c.req.url).protocol === 'https:',
    });
    options.log.info({ operator }, 'codec session opened');
    return c.text('Codec session open: the Web UI can now decode payloads (8 hours).');
  });

  app.onError(createErrorHandler(options.log));
  app.notFound(notFoundHandler);
  return app;
}

/** The codec server's part of the worker configuration. */
export type CodecServerConfig = PayloadCodecConfig & {
  CODEC_SERVER_HOST: string;
  CODEC_SERVER_PORT: number;
  CODEC_SERVER_CORS_ORIGINS: readonly string[];
  CODEC_SERVER_OPERATOR_TOKEN?: string;
  AUTH_ISSUER: string;
  AUTH_JWKS_URL: string;
  JWT_AUDIENCE: string;
};

/**
 * Starts the codec server on its own listener when the codec is on and CODEC_SERVER_PORT is
 * not 0; resolves to the server (close it on shutdown) or undefined.
 */
export async function startCodecServer(
  config: CodecServerConfig,
  log: Logger,
): Promise<ServerType | undefined> {
  const keyring = keyringFromConfig(config);
  if (!keyring || config.CODEC_SERVER_PORT === 0) return undefined;
  const app = createCodecServerApp({
    codec: createPayloadCodec(keyring),
    log,
    corsOrigins: config.CODEC_SERVER_CORS_ORIGINS,
    verifyToken: createAccessTokenVerifier({
      jwksUrl: config.AUTH_JWKS_URL,
      issuer: config.AUTH_ISSUER,
      audience: config.JWT_AUDIENCE,
    }),
    operatorToken: config.CODEC_SERVER_OPERATOR_TOKEN,
  });
  return new Promise((resolve) => {
    const server = serve(
      { fetch: app.fetch, hostname: config.CODEC_SERVER_HOST, port: config.CODEC_SERVER_PORT },
      (info) => {
        log.info({ host: config.CODEC_SERVER_HOST, port: info.port }, 'codec server listening');
        resolve(server);
      },
    );
  });
}

function unauthorized(detail: string): ProblemError {
  return new ProblemError(401, 'unauthorized', detail, {}, { 'www-authenticate': 'Bearer' });
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function fromJson(p: { metadata?: Record<string, string>; data?: string }): Payload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
    ),
    data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
  };
}

function toJson(p: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [
        k,
        Buffer.from(v ?? new Uint8Array()).toString('base64'),
      ]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

const SESSION_FORM = `<!doctype html>
<title>Velora codec server</title>
<form method="post" action="/session">
  <p>Paste an access token with the admin scope, or the operator token, to let the Temporal Web
  UI on this machine decode payloads.</p>
  <input type="password" name="token" autocomplete="off" required>
  <button>Open a codec session</button>
</form>`;
