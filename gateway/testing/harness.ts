import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createClient } from 'redis';
import { createLogger } from '../../lib/logger.js';
import { testEnv } from '../../test/support/test-env.js';
import { firstPartyScope } from '../../auth/tokens/scopes.js';
import { createTestIssuer } from '../../test/support/tokens.js';
import { createGatewayApp } from '../app.js';
// After the app: lib/money's zod schemas get `.openapi()` only when @hono/zod-openapi (loaded by
// the app) has extended zod before they are built. Test files therefore take what they need of
// the fake activities from the harness (`services`, `otpCode`), not by importing them first.
import {
  createFakeServices,
  FAKE_OTP_CODE,
  FAKE_WORKFLOW_INPUT_KEY,
} from '../../activities/testing/fake-activities.js';
import { loadGatewayConfig } from '../config.js';
import { denylistKey } from '../../lib/denylist.js';
import { createRedisDenylist } from '../http/authn.js';
import { createSyncedRateLimiter } from '../http/rate-limit.js';
import { createUpstream } from '../http/upstream.js';
import type { Wallet } from '../../wallet/wallet-api.js';
import { createFakeAuth, createFakeWallet, SERVICE_TOKEN } from './fake-upstreams.js';
import { serveStub } from './stub-server.js';

/** Response bodies in tests are asserted field by field, so they are left untyped. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TestBody = any;
export interface TestResponse extends Response {
  json(): Promise<TestBody>;
}

let runtimeInstalled = false;
/** The stub worker's lifecycle logs would drown the test output; keep warnings only. */
function quietWorkerLogs() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export interface HarnessOptions {
  /**
   * `true`: a Temporal client and a stub worker on a private task queue; `'unreachable'`: a
   * client pointed at a port where nothing listens (an orchestrator outage); `'no-worker'`:
   * the real server but no worker polls the task queue (workers down); `'no-namespace'`: the
   * real server, asked for a namespace it does not have (as just after a restart).
   */
  temporal?: boolean | 'unreachable' | 'no-worker' | 'no-namespace';
  env?: Record<string, string>;
  /** The token the gateway presents to WalletService (the stand-in accepts only SERVICE_TOKEN). */
  serviceToken?: string;
}

/** What a wallet made with `addWallet` holds unless told otherwise: room for every test's transfers. */
export const DEFAULT_TEST_BALANCE = 1_000_000n;

/**
 * A gateway wired to real Redis (TEST_REDIS_URL), real Temporal (TEST_TEMPORAL_ADDRESS) with a
 * worker running the real transfer workflow on fake activities (and stand-ins for the other
 * workflows), and in-process stand-ins for AuthService and WalletService.
 */
export async function createHarness(options: HarnessOptions = {}) {
  const issuer = await createTestIssuer();
  const redis = createClient({ url: testEnv('redisUrl'), disableOfflineQueue: true });
  await redis.connect();
  // The world the workflows' activities see (users, balances, holds); `addWallet` seeds it and
  // the gateway's WalletService stand-in with the same wallet, whose balance then moves with it.
  const services = createFakeServices();
  const seeded = new Set<string>();
  const wallet = createFakeWallet({
    balance: (id) => {
      if (!seeded.has(id)) return undefined;
      const { posted, available } = services.balance(id);
      return { posted: String(posted), pending: String(posted - available), available: String(available) };
    },
  });
  const auth = createFakeAuth({
    jwks: issuer.jwks,
    denylist: async (jti, ttl) => {
      await redis.set(denylistKey(jti), '1', { EX: ttl });
    },
  });
  const walletServer = await serveStub(wallet.app);
  const authServer = await serveStub(auth.app);
  const taskQueue = `gateway-test-${randomUUID()}`;
  const config = loadGatewayConfig({
    GATEWAY_CLIENT_SECRET: 'test-secret-0123456789',
    // The key the fake activities verify the transfer input with, as the real worker shares the
    // gateway's.
    WORKFLOW_INPUT_KEY: FAKE_WORKFLOW_INPUT_KEY.toString('base64'),
    AUTH_URL: authServer.url,
    WALLET_URL: walletServer.url,
    TEMPORAL_TASK_QUEUE: taskQueue,
    WORKFLOW_WAIT_MS: '15000',
    ...options.env,
  });
  const breaker = { timeoutMs: 1000, breakAfter: 3, halfOpenAfterMs: 60_000 };
  const closers: (() => Promise<void>)[] = [walletServer.close, authServer.close];

  let temporal = undefined as unknown as Client;
  if (options.temporal === 'unreachable') {
    const connection = Connection.lazy({ address: '127.0.0.1:9' });
    temporal = new Client({ connection });
    closers.push(() => connection.close());
  } else if (options.temporal === 'no-worker' || options.temporal === 'no-namespace') {
    const connection = await Connection.connect({ address: testEnv('temporalAddress') });
    temporal = new Client({
      connection,
      ...(options.temporal === 'no-namespace' ? { namespace: `velora-missing-${randomUUID()}` } : {}),
    });
    closers.push(() => connection.close());
  } else if (options.temporal) {
    const address = testEnv('temporalAddress');
    quietWorkerLogs();
    const connection = await Connection.connect({ address });
    temporal = new Client({ connection });
    const native = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: native,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('./worker-workflows.ts', import.meta.url)),
      activities: services.activities,
      // A test that leaves an activity blocked at a gate must not hold up the shutdown.
      shutdownGraceTime: '1s',
    });
    const running = worker.run();
    closers.push(async () => {
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
    });
  }

  const rateLimiter = createSyncedRateLimiter(
    redis,
    {
      ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
      authPerMinute: config.RATE_LIMIT_AUTH_PER_MINUTE,
      userPerMinute: config.RATE_LIMIT_USER_PER_MINUTE,
    },
    // Each harness counts on its own keys, so test files never share a budget.
    { keyPrefix: `gw:test:${randomUUID()}` },
  );
  closers.push(async () => rateLimiter.stop());
  const { app, metricsApp } = createGatewayApp({
    config,
    log: createLogger('gateway-test', 'silent'),
    verifyToken: issuer.verifier,
    isRevoked: createRedisDenylist(redis),
    temporal,
    auth: createUpstream({ name: 'auth', baseUrl: config.AUTH_URL, ...breaker }),
    wallet: createUpstream({
      name: 'wallet',
      baseUrl: config.WALLET_URL,
      token: async () => options.serviceToken ?? SERVICE_TOKEN,
      ...breaker,
    }),
    serviceToken: async () => SERVICE_TOKEN,
    rateLimiter,
  });

  /**
   * A signed-in user: a fresh user id, its token, and helpers to call the gateway as them. By
   * default the token is what password login through the first-party app grants (every user
   * scope, plus `admin` for admins); `scope` and `clientId` model a third-party app's token.
   */
  async function user(
    claims: { roles?: string[]; expiresIn?: string; scope?: string; clientId?: string } = {},
  ) {
    const id = randomUUID();
    const roles = claims.roles ?? [];
    const token = await issuer.mint({
      sub: id,
      scope: claims.scope ?? firstPartyScope(roles),
      roles,
      client_id: claims.clientId ?? 'velora-web',
      expiresIn: claims.expiresIn,
    });
    return { id, token, auth: { authorization: `Bearer ${token}` } };
  }

  /**
   * A wallet of `userId` that both the gateway's WalletService stand-in and the workflows' fake
   * activities know (the user is active there), holding `balance` minor units; the stand-in
   * answers the balance the activities leave it with.
   */
  function addWallet(
    userId: string,
    currency = 'USD',
    { balance = DEFAULT_TEST_BALANCE }: { balance?: bigint } = {},
  ): Wallet {
    const created = wallet.addWallet(userId, currency);
    if (!services.users.has(userId)) services.addUser({ user_id: userId });
    services.addWallet({ id: created.id, user_id: userId, currency, balance });
    seeded.add(created.id);
    return created;
  }

  /** Sends a JSON request from a given peer address (as the Node adapter would report it). */
  async function request(
    path: string,
    init: RequestInit & { json?: unknown; peer?: string } = {},
  ): Promise<TestResponse> {
    const { json, peer, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (json !== undefined) headers.set('content-type', 'application/json');
    const body = json !== undefined ? (typeof json === 'string' ? json : JSON.stringify(json)) : rest.body;
    return app.request(
      path,
      { ...rest, headers, body },
      { incoming: { socket: { remoteAddress: peer ?? '203.0.113.7' } } },
    );
  }

  return {
    app,
    /** The private metrics listener's app (GATEWAY_METRICS_PORT in production). */
    metricsApp,
    config,
    issuer,
    redis,
    wallet,
    auth,
    /** The fake activities' world: balances, effects per workflow, injected failures and gates. */
    services,
    /** The step-up code the fake activities accept. */
    otpCode: FAKE_OTP_CODE,
    addWallet,
    temporal,
    taskQueue,
    user,
    request,
    async close() {
      for (const close of closers.reverse()) await close();
      await redis.close();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;
