import { randomBytes } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { createHarness, ORCHESTRATOR, type Harness } from '../../auth/testing/harness.js';
import { clientCredentialsToken, createHttpClient, type HttpClient } from '../../lib/http-client.js';
import { createWalletHarness, type WalletHarness } from '../../wallet/testing/wallet-harness.js';
import { createActivities } from '../index.js';

/** The WORKFLOW_INPUT_KEY of the live activities: tests sign inputs as the gateway would. */
export const LIVE_WORKFLOW_INPUT_KEY = randomBytes(32);

/** The real AuthService and WalletService served over HTTP, and activities wired to them. */
export interface LiveUpstreams {
  auth: Harness;
  wallet: WalletHarness;
  /** The activities' client of WalletService (a test may build a variant activity on it). */
  walletClient: HttpClient;
  /** A WalletService service token, renewed before the harness's 5-minute ones expire. */
  walletToken(): Promise<string>;
  activities: ReturnType<typeof createActivities>;
  close(): Promise<void>;
}

export interface LiveUpstreamsOptions {
  /** The wallet harness's options (e.g. a private database, `isolated`, and its pool size). */
  wallet?: Parameters<typeof createWalletHarness>[0];
  /** Transfers of at least this many minor units need a step-up (100,000 by default). */
  stepUpThreshold?: bigint;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Env: only fetch() is served
function listen(app: Hono<any>, servers: ServerType[]): Promise<string> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    );
    servers.push(server);
  });
}

/**
 * Starts both services in-process on ephemeral ports (their real apps over real PostgreSQL,
 * Redis and MongoDB) and builds the activities as the worker does, with the orchestrator's real
 * client_credentials token for auth.
 */
export async function startLiveUpstreams(options: LiveUpstreamsOptions = {}): Promise<LiveUpstreams> {
  const servers: ServerType[] = [];
  const auth = await createHarness();
  const wallet = await createWalletHarness(options.wallet);
  const authUrl = await listen(auth.app, servers);
  const walletUrl = await listen(wallet.app, servers);
  const token = clientCredentialsToken({
    tokenUrl: `${authUrl}/v1/auth/token`,
    clientId: ORCHESTRATOR.id,
    clientSecret: ORCHESTRATOR.secret,
    scope: 'auth:internal wallet:read wallet:write',
  });
  // WalletService in its test harness trusts the harness's own issuer.
  const walletToken = renewingToken(() =>
    wallet.issuer.serviceToken('wallet:read wallet:write wallet:admin'),
  );
  const walletClient = createHttpClient({ name: 'wallet', baseUrl: walletUrl, token: walletToken });
  const activities = createActivities({
    auth: createHttpClient({ name: 'auth', baseUrl: authUrl, token }),
    wallet: walletClient,
    config: {
      transferStepUpThreshold: options.stepUpThreshold ?? 100_000n,
      workflowInputKey: LIVE_WORKFLOW_INPUT_KEY,
    },
  });
  return {
    auth,
    wallet,
    walletClient,
    walletToken,
    activities,
    async close() {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      await auth.close();
      await wallet.close();
    },
  };
}

/** Mints a new token every 4 minutes, before the 5-minute one in use expires (a fuzz campaign runs longer). */
function renewingToken(mint: () => Promise<string>): () => Promise<string> {
  let current: { token: Promise<string>; at: number } | undefined;
  return () => {
    if (!current || Date.now() - current.at > 4 * 60_000) current = { token: mint(), at: Date.now() };
    return current.token;
  };
}
