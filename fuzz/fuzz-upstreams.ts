/**
 * The real AuthService and WalletService for the fuzzer, served over HTTP in-process, with the
 * activities wired to them as the worker wires them (activities/testing/live-upstreams.ts), with
 * the wallet on its own database (recreated empty), so the books checks see only the fuzzer's
 * money and no other test running at the same time can disturb them; and a payout provider
 * (payout-sim, in memory) for withdrawals.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { createActivities } from '../activities/index.js';
import { startLiveUpstreams, type LiveUpstreams } from '../activities/testing/live-upstreams.js';
import { callUpstream } from '../activities/upstream.js';
import type { HttpClient } from '../lib/http-client.js';
import { STEP_UP_THRESHOLD } from './fault-schedule.js';

/** A defect the harness can plant in the activities, to prove the fuzzer finds it. */
export type PlantedBug =
  /** The capture sends a fresh Idempotency-Key on every attempt instead of `<workflowId>:capture`. */
  'capture_fresh_key';

export type FuzzUpstreams = LiveUpstreams;

/**
 * Starts both services with the wallet on the private database `velora_wallet_test_<name>`
 * (`name` unique to the process that uses it) and builds the activities, with `plant` swapped in.
 */
export async function startFuzzUpstreams(name: string, plant?: PlantedBug): Promise<FuzzUpstreams> {
  const upstreams = await startLiveUpstreams({
    wallet: { isolated: name, poolMax: 10 },
    stepUpThreshold: BigInt(STEP_UP_THRESHOLD),
    // The withdrawal fuzzer's provider: it decides at once, and the scenario delivers the results
    // through the gateway's webhook route when its schedule says (fuzz/withdrawal-scenario.ts).
    payouts: { settleDelayMs: 0 },
  });
  if (plant === 'capture_fresh_key')
    upstreams.activities.captureTransfer = captureWithFreshKey(upstreams.walletClient);
  return upstreams;
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
