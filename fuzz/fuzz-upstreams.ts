/**
 * The real AuthService and WalletService for the fuzzer, served over HTTP in-process, with the
 * activities wired to them as the worker wires them. Unlike activities/testing/live-upstreams.ts
 * the wallet gets its own database (recreated empty), so the books checks see only the
 * fuzzer's money and no other test running at the same time can disturb them.
 */
import { randomUUID } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { Context } from '@temporalio/activity';
import type { Hono } from 'hono';
import { createActivities } from '../activities/index.js';
import { LIVE_WORKFLOW_INPUT_KEY } from '../activities/testing/live-upstreams.js';
import { callUpstream } from '../activities/upstream.js';
import { createHarness, ORCHESTRATOR, type Harness } from '../auth/testing/harness.js';
import { clientCredentialsToken, createHttpClient, type HttpClient } from '../lib/http-client.js';
import { createWalletHarness, type WalletHarness } from '../wallet/testing/wallet-harness.js';
import { STEP_UP_THRESHOLD } from './fault-schedule.js';

/** A defect the harness can plant in the activities, to prove the fuzzer finds it. */
export type PlantedBug =
  /** The capture sends a fresh Idempotency-Key on every attempt instead of `<workflowId>:capture`. */
  'capture_fresh_key';

export interface FuzzUpstreams {
  auth: Harness;
  wallet: WalletHarness;
  /** A WalletService token that is never expired (the harness's own lasts 5 minutes; a campaign runs longer). */
  walletToken(): Promise<string>;
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
 * Starts both services with the wallet on the private database `velora_wallet_test_<name>`
 * (`name` unique to the process that uses it) and builds the activities, with `plant` swapped in.
 */
export async function startFuzzUpstreams(name: string, plant?: PlantedBug): Promise<FuzzUpstreams> {
  const servers: ServerType[] = [];
  const auth = await createHarness();
  const wallet = await createWalletHarness({ isolated: name, poolMax: 10 });
  const authUrl = await listen(auth.app, servers);
  const walletUrl = await listen(wallet.app, servers);
  const token = clientCredentialsToken({
    tokenUrl: `${authUrl}/v1/auth/token`,
    clientId: ORCHESTRATOR.id,
    clientSecret: ORCHESTRATOR.secret,
    scope: 'auth:internal wallet:read wallet:write',
  });
  const walletToken = freshToken(() => wallet.issuer.serviceToken('wallet:read wallet:write wallet:admin'));
  const walletClient = createHttpClient({ name: 'wallet', baseUrl: walletUrl, token: walletToken });
  const activities = createActivities({
    auth: createHttpClient({ name: 'auth', baseUrl: authUrl, token }),
    wallet: walletClient,
    config: { transferStepUpThreshold: BigInt(STEP_UP_THRESHOLD), workflowInputKey: LIVE_WORKFLOW_INPUT_KEY },
  });
  if (plant === 'capture_fresh_key') activities.captureTransfer = captureWithFreshKey(walletClient);
  return {
    auth,
    wallet,
    walletToken,
    activities,
    async close() {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
      await auth.close();
      await wallet.close();
    },
  };
}

/** Mints a new token every 4 minutes, before the 5-minute one in use expires. */
function freshToken(mint: () => Promise<string>): () => Promise<string> {
  let current: { token: Promise<string>; at: number } | undefined;
  return () => {
    if (!current || Date.now() - current.at > 4 * 60_000) current = { token: mint(), at: Date.now() };
    return current.token;
  };
}

/**
 * The planted defect: activities/transfer-activities.ts's capture with the key drawn anew per
 * attempt, so a retry after a lost answer is a second, different request.
 */
function captureWithFreshKey(wallet: HttpClient): ReturnType<typeof createActivities>['captureTransfer'] {
  return async (input) => {
    const res = await callUpstream<{ transaction_id: string }>(
      wallet,
      'POST',
      `/internal/holds/${encodeURIComponent(input.hold_id)}/capture`,
      {
        body: { to_wallet_id: input.to_wallet_id, amount: input.amount, records: input.records },
        idempotencyKey: randomUUID(),
      },
    );
    return { transaction_id: res.transaction_id, attempt: Context.current().info.attempt };
  };
}
