import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../lib/db.js';
import { createLogger } from '../lib/logger.js';
import { createTestIssuer, TEST_AUDIENCE, TEST_ISSUER } from '../test/support/tokens.js';
import { testEnv } from '../test/support/test-env.js';
import { createWalletApp } from './app.js';
import type { Database } from './database.js';
import { createWalletHarness, type WalletHarness } from './testing/wallet-harness.js';

// Issue 11, item 14: readiness follows what moving money needs (PostgreSQL);
// MongoDB (history) is reported as a degradation, never as "not ready".

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = createLogger('wallet-test', 'silent');

/** A local port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let h: WalletHarness;
let issuer: Awaited<ReturnType<typeof createTestIssuer>>;
let jwksServer: Server;
let jwksUrl: string;
beforeAll(async () => {
  h = await createWalletHarness();
  issuer = await createTestIssuer();
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks`;
});
afterAll(async () => {
  await new Promise((resolve) => jwksServer.close(resolve));
  await h.close();
});

describe('WalletService readiness', () => {
  it('a WalletService process whose MongoDB is unreachable is ready and says history is degraded', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'wallet/main.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        LOG_LEVEL: 'fatal',
        WALLET_HOST: '127.0.0.1',
        WALLET_PORT: String(port),
        WALLET_DATABASE_URL: testEnv('walletDatabaseUrl'),
        MONGO_URL: `mongodb://127.0.0.1:${await closedPort()}/`,
        WALLET_MONGO_DB: testEnv('mongoDb'),
        AUTH_ISSUER: TEST_ISSUER,
        AUTH_JWKS_URL: jwksUrl,
        JWT_AUDIENCE: TEST_AUDIENCE,
        WALLET_DB_POOL_MAX: '2',
      },
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const base = `http://127.0.0.1:${port}`;
      let ready: Response | undefined;
      await until('the wallet to answer /readyz', async () => {
        ready = await fetch(`${base}/readyz`).catch(() => undefined);
        return ready !== undefined;
      });
      expect(ready!.status).toBe(200);
      expect(await ready!.json()).toEqual({
        status: 'ready',
        checks: { postgres: true, mongo: false },
        degraded: ['history'],
      });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^dependency_up\{[^}]*dependency="mongo"[^}]*required="false"[^}]*\} 0$/m);
      expect(metrics).toMatch(/^dependency_up\{[^}]*dependency="postgres"[^}]*required="true"[^}]*\} 1$/m);
      // History itself says why it cannot answer; a wallet read (PostgreSQL) still works.
      const token = await issuer.serviceToken('wallet:read');
      const w = await h.wallet('USD');
      const auth = { authorization: `Bearer ${token}` };
      expect((await fetch(`${base}/internal/wallets/${w}`, { headers: auth })).status).toBe(200);
      const hist = await fetch(`${base}/internal/wallets/${w}/transactions`, { headers: auth });
      expect(hist.status).toBe(503);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('is not ready when PostgreSQL is unreachable, even with MongoDB up', async () => {
    const { db } = createDb<Database>(
      `postgres://velora_wallet@127.0.0.1:${await closedPort()}/velora_wallet`,
      {
        max: 1,
      },
    );
    try {
      const { app } = createWalletApp({
        db,
        mongo: h.mongo,
        verifier: h.issuer.verifier,
        log,
      });
      const res = await app.request('/readyz');
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        status: 'unavailable',
        checks: { postgres: false, mongo: true },
        degraded: [],
      });
    } finally {
      await db.destroy();
    }
  });

  it('reports MongoDB down as degraded history in an app built in-process too', async () => {
    const dead = new MongoClient(`mongodb://127.0.0.1:${await closedPort()}/`, {
      serverSelectionTimeoutMS: 300,
    });
    try {
      const { app } = createWalletApp({
        db: h.db,
        mongo: dead.db('unreachable'),
        verifier: h.issuer.verifier,
        log,
      });
      const res = await app.request('/readyz');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ready', degraded: ['history'] });
    } finally {
      await dead.close();
    }
  });
});
