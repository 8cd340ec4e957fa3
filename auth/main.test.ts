import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../test/support/test-env.js';
import {
  GATEWAY,
  ORCHESTRATOR,
  strongPassword,
  TEST_KEY_ENCRYPTION_KEY,
  uniqueEmail,
} from './testing/harness.js';

/** The real entry point: `node --import tsx auth/main.ts` on a real port, as the stack runs it. */

let child: ChildProcess;
let base: string;
let exited: Promise<number | null>;
const admin = { email: uniqueEmail('admin'), password: strongPassword() };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(process.execPath, ['--import', 'tsx', 'auth/main.ts'], {
    env: {
      PATH: process.env.PATH,
      AUTH_HOST: '127.0.0.1',
      AUTH_PORT: String(port),
      AUTH_ISSUER: base,
      AUTH_DATABASE_URL: testEnv('authDatabaseUrl'),
      REDIS_URL: testEnv('redisUrl'),
      AUTH_KEY_ENCRYPTION_KEY: TEST_KEY_ENCRYPTION_KEY,
      OTP_PEPPER: 'test-otp-pepper-0123456789abcdef-0123456789',
      OTP_DELIVERY: 'dev',
      VELORA_ADMIN_EMAIL: admin.email,
      VELORA_ADMIN_PASSWORD: admin.password,
      ORCHESTRATOR_CLIENT_ID: ORCHESTRATOR.id,
      ORCHESTRATOR_CLIENT_SECRET: ORCHESTRATOR.secret,
      GATEWAY_CLIENT_ID: GATEWAY.id,
      GATEWAY_CLIENT_SECRET: GATEWAY.secret,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error('auth/main.ts did not become ready');
    await new Promise((r) => setTimeout(r, 250));
  }
});

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
});

describe('auth/main.ts', () => {
  it('serves discovery, seeds the service clients and the admin user, and answers health checks', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('http_server_duration_seconds');
    const config = await oidc.discovery(
      new URL(base),
      GATEWAY.id,
      GATEWAY.secret,
      oidc.ClientSecretBasic(GATEWAY.secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const service = await oidc.clientCredentialsGrant(config);
    expect(service.scope?.split(' ').sort()).toEqual(['auth:internal', 'wallet:admin', 'wallet:read']);
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
    });
    expect(login.status).toBe(200);
    const tokens = (await login.json()) as { access_token: string };
    const me = (await (
      await fetch(`${base}/v1/auth/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
    ).json()) as { roles: string[] };
    expect(me.roles).toContain('admin');
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(
      /auth_events_total\{[^}]*event="login",outcome="success"[^}]*\} 1/,
    );
  });

  it('stops cleanly on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
