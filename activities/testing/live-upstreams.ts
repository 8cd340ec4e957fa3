import { randomBytes } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { createHarness, ORCHESTRATOR, type Harness } from '../../auth/testing/harness.js';
import { clientCredentialsToken, createHttpClient, type HttpClient } from '../../lib/http-client.js';
import { createLogger } from '../../lib/logger.js';
import { createPayoutSimApp } from '../../payout-sim/app.js';
import { loadPayoutSimConfig } from '../../payout-sim/config.js';
import type { PayoutBook } from '../../payout-sim/payout-book.js';
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
  /** The in-process payout provider, when `payouts` was asked for. */
  payouts?: LivePayoutProvider;
  close(): Promise<void>;
}

/** payout-sim served in-process: its book (payouts by reference, fault rules). */
export interface LivePayoutProvider {
  book: PayoutBook;
}

export interface LiveUpstreamsOptions {
  /** The wallet harness's options (e.g. a private database, `isolated`, and its pool size). */
  wallet?: Parameters<typeof createWalletHarness>[0];
  /** Transfers of at least this many minor units need a step-up (100,000 by default). */
  stepUpThreshold?: bigint;
  /**
   * Serve a payout provider (payout-sim, in memory) and give the withdrawal activities a client
   * of it; without it a withdrawal's submit fails, as a worker without PAYOUT_PROVIDER_URL does.
   * Its results reach no webhook: a test delivers them itself, reading the decisions in its book.
   */
  payouts?: { settleDelayMs?: number };
}

const PAYOUT_API_KEY = randomBytes(16).toString('hex');
const PAYOUT_WEBHOOK_SECRET = randomBytes(32).toString('hex');

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
  const sim = options.payouts && (await startPayoutSim(options.payouts, servers));
  const activities = createActivities({
    auth: createHttpClient({ name: 'auth', baseUrl: authUrl, token }),
    wallet: walletClient,
    ...(sim ? { payouts: sim.client } : {}),
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
    ...(sim ? { payouts: { book: sim.book } } : {}),
    async close() {
      sim?.close();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      await auth.close();
      await wallet.close();
    },
  };
}

/** payout-sim on an ephemeral port with an in-memory book, and the worker's client of it (its API key). */
async function startPayoutSim(
  options: NonNullable<LiveUpstreamsOptions['payouts']>,
  servers: ServerType[],
): Promise<{ client: HttpClient; book: PayoutBook; close(): void }> {
  const config = loadPayoutSimConfig({
    PAYOUT_WEBHOOK_SECRET,
    PAYOUT_PROVIDER_API_KEY: PAYOUT_API_KEY,
    // Port 9 (discard) refuses connections: a result is tried once and reaches no one.
    PAYOUT_SIM_WEBHOOK_URL: 'http://127.0.0.1:9/v1/webhooks/payouts',
    PAYOUT_SIM_SETTLE_DELAY_MS: String(options.settleDelayMs ?? 0),
    PAYOUT_SIM_WEBHOOK_ATTEMPTS: '1',
  });
  const sim = createPayoutSimApp({ config, log: createLogger('payout-sim', 'silent') });
  const url = await listen(sim.app, servers);
  // As workers/main.ts builds it: the API key as a bearer header.
  const client = createHttpClient({
    name: 'payouts',
    baseUrl: url,
    defaultHeaders: () => ({ authorization: `Bearer ${PAYOUT_API_KEY}` }),
  });
  return { client, book: sim.book, close: sim.close };
}

/** Mints a new token every 4 minutes, before the 5-minute one in use expires (a fuzz campaign runs longer). */
function renewingToken(mint: () => Promise<string>): () => Promise<string> {
  let current: { token: Promise<string>; at: number } | undefined;
  return () => {
    if (!current || Date.now() - current.at > 4 * 60_000) current = { token: mint(), at: Date.now() };
    return current.token;
  };
}
