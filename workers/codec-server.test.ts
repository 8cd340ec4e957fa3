import { randomBytes, randomUUID } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier } from '../lib/jwt-verifier.js';
import { createLogger } from '../lib/logger.js';
import { createPayloadCodec, keyringFromConfig } from '../lib/payload-codec.js';
import { unsupportedMediaTypeProblem } from '../lib/problem.js';
import { createCodecServerApp } from './codec-server.js';

const ISSUER = 'http://auth.test';
const AUDIENCE = 'velora';
const OPERATOR_TOKEN = randomBytes(32).toString('hex');
const UI_ORIGIN = 'http://127.0.0.1:8233';
const codec = createPayloadCodec(
  keyringFromConfig({ PAYLOAD_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}` })!,
);
const SECRET = { ip: '198.51.100.23', user_agent: 'CodecServerTest/1.0' };

let app: ReturnType<typeof createCodecServerApp>;
let accessToken: (scope: string) => Promise<string>;
/** The JSON of one payload encrypted by the worker's codec, as the Web UI sends it. */
let encryptedBody: string;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' };
  accessToken = (scope) =>
    new SignJWT({ scope, client_id: 'velora-app', roles: ['admin'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'k', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(`user-${randomUUID()}`)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  app = createCodecServerApp({
    codec,
    log: createLogger('codec-server-test', 'silent'),
    corsOrigins: [UI_ORIGIN],
    verifyToken: createAccessTokenVerifier({
      jwks: createLocalJWKSet({ keys: [jwk] }),
      issuer: ISSUER,
      audience: AUDIENCE,
    }),
    operatorToken: OPERATOR_TOKEN,
  });
  const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(SECRET)]);
  encryptedBody = JSON.stringify({ payloads: [toJson(encrypted!)] });
});

function toJson(p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}

function decode(headers: Record<string, string> = {}, body = encryptedBody) {
  return app.request('/decode', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
    body,
  });
}

/** The decoded value of the first payload of a codec answer. */
async function firstValue(res: Response): Promise<unknown> {
  const { payloads } = (await res.json()) as {
    payloads: { metadata: Record<string, string>; data: string }[];
  };
  const p = payloads[0]!;
  return defaultPayloadConverter.fromPayload({
    metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data, 'base64'),
  });
}

describe('codec server', () => {
  it('refuses to decode without credentials, and the answer carries no payload', async () => {
    const res = await decode();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    const text = await res.text();
    expect(text).not.toContain('198.51.100.23');
    expect(JSON.parse(text)).toMatchObject({ code: 'unauthorized' });
  });

  it('refuses a wrong operator token and a forged or scope-less access token', async () => {
    expect((await decode({ authorization: `Bearer ${randomBytes(32).toString('hex')}` })).status).toBe(401);
    const forged = (await accessToken('admin')).replace(/\.[^.]+$/, '.AAAA');
    expect((await decode({ authorization: `Bearer ${forged}` })).status).toBe(401);
    const userToken = await accessToken('openid wallet:read transfers:write');
    const res = await decode({ authorization: `Bearer ${userToken}` });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
  });

  it('decodes for an admin access token and for the operator token', async () => {
    const admin = await decode({ authorization: `Bearer ${await accessToken('openid admin')}` });
    expect(admin.status).toBe(200);
    expect(await firstValue(admin)).toEqual(SECRET);
    const operator = await decode({ authorization: `Bearer ${OPERATOR_TOKEN}` });
    expect(await firstValue(operator)).toEqual(SECRET);
  });

  it('encodes so that the worker codec decodes (round trip through the protocol)', async () => {
    const plain = JSON.stringify({ payloads: [toJson(defaultPayloadConverter.toPayload(SECRET))] });
    const encoded = await app.request('/encode', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_TOKEN}` },
      body: plain,
    });
    expect(encoded.status).toBe(200);
    const body = await encoded.text();
    expect(body).not.toContain(Buffer.from('198.51.100.23').toString('base64'));
    const decoded = await decode({ authorization: `Bearer ${OPERATOR_TOKEN}` }, body);
    expect(await firstValue(decoded)).toEqual(SECRET);
  });

  it('answers 422 for a tampered payload and 400 for a malformed body', async () => {
    const body = JSON.parse(encryptedBody) as { payloads: { data: string }[] };
    const bytes = Buffer.from(body.payloads[0]!.data, 'base64');
    bytes[bytes.length - 1]! ^= 0xff;
    body.payloads[0]!.data = bytes.toString('base64');
    const tampered = await decode({ authorization: `Bearer ${OPERATOR_TOKEN}` }, JSON.stringify(body));
    expect(tampered.status).toBe(422);
    expect(await tampered.json()).toMatchObject({ code: 'payload_undecodable' });
    const malformed = await decode(
      { authorization: `Bearer ${OPERATOR_TOKEN}` },
      '{"payloads":[{"data":"%%"}]}',
    );
    expect(malformed.status).toBe(400);
  });

  it('answers 415 for a body that is not JSON, in the words every service uses', async () => {
    const res = await decode({ authorization: `Bearer ${OPERATOR_TOKEN}`, 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({
      code: 'unsupported_media_type',
      detail: unsupportedMediaTypeProblem().detail,
    });
  });

  it('lets the Web UI origin call it from the browser, and no other origin', async () => {
    const preflight = (origin: string) =>
      app.request('/decode', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace',
        },
      });
    const allowed = await preflight(UI_ORIGIN);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await preflight('https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('opens a browser session for a valid token only, and the session cookie decodes', async () => {
    const refused = await app.request('/session', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=not-the-token',
    });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('set-cookie')).toBeNull();

    const opened = await app.request('/session', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${OPERATOR_TOKEN}`,
    });
    expect(opened.status).toBe(200);
    const cookie = opened.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const session = cookie.split(';')[0]!;
    expect(await firstValue(await decode({ cookie: session }))).toEqual(SECRET);
    expect((await decode({ cookie: 'velora_codec_session=guessed' })).status).toBe(401);
  });
});
