import { randomBytes } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { createHarness, ORCHESTRATOR, type Harness } from '../../auth/testing/harness.js';
import { clientCredentialsToken, createHttpClient } from '../../lib/http-client.js';
import { createWalletHarness, type WalletHarness } from '../../wallet/testing/wallet-harness.js';
import { createActivities } from '../index.js';

/** The WORKFLOW_INPUT_KEY of the live activities: tests sign inputs as the gateway would. */
export const LIVE_WORKFLOW_INPUT_KEY = randomBytes(32);

/** The real AuthService and WalletService served over HTTP, and activities wired to them. */
export interface LiveUpstreams {
  auth: Harness;
  wallet: WalletHarness;
  activities: ReturnType<typeof createActivities>;
  close(): Promise<void>;
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
export async function startLiveUpstreams(): Promise<LiveUpstreams> {
  const servers: ServerType[] = [];
  const auth = await createHarness();
  const wallet = await createWalletHarness();
  const authUrl = await listen(auth.app, servers);
  const walletUrl = await listen(wallet.app, servers);
  const token = clientCredentialsToken({
    tokenUrl: `${authUrl}/v1/auth/token`,
    clientId: ORCHESTRATOR.id,
    clientSecret: ORCHESTRATOR.secret,
    scope: 'auth:internal wallet:read wallet:write',
  });
  const activities = createActivities({
    auth: createHttpClient({ name: 'auth', baseUrl: authUrl, token }),
    // WalletService in its test harness trusts the harness's own issuer.
    wallet: createHttpClient({ name: 'wallet', baseUrl: walletUrl, token: async () => wallet.token }),
    config: { transferStepUpThreshold: 100_000n, workflowInputKey: LIVE_WORKFLOW_INPUT_KEY },
  });
  return {
    auth,
    wallet,
    activities,
    async close() {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      await auth.close();
      await wallet.close();
    },
  };
}
