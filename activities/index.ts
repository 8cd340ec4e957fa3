/**
 * All activities of the orchestrator. The worker builds the dependencies once (HTTP clients
 * with cached service tokens, config, metrics) and registers `createActivities(deps)`;
 * workflows import this module as types only.
 */
import type { Client } from '@temporalio/client';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { HttpClient } from '../lib/http-client.js';
import type { ActiveUserCache } from './active-user-cache.js';
import { createDepositActivities } from './deposit-activities.js';
import { createHoldExpiryActivities } from './hold-expiry-activities.js';
import { createOnboardingActivities } from './onboarding-activities.js';
import { createReversalActivities } from './reversal-activities.js';
import { createTransferActivities } from './transfer-activities.js';
import { createTransferArchiveActivities } from './transfer-archive-activities.js';
import { createWithdrawalActivities } from './withdrawal-activities.js';

export type * from './transfer-activities.js';
export type * from './deposit-activities.js';
export type * from './reversal-activities.js';
export type * from './upstream-types.js';
export type * from './withdrawal-activities.js';

export interface ActivityDeps {
  /** AuthService client, authenticated with the orchestrator's client_credentials token. */
  auth: HttpClient;
  /** WalletService client, same token. */
  wallet: HttpClient;
  /** The payout provider (withdrawals), with its API key; absent, a withdrawal's submit fails. */
  payouts?: HttpClient;
  config: {
    /** TRANSFER_STEP_UP_THRESHOLD in minor units. */
    transferStepUpThreshold: bigint;
    /** WORKFLOW_INPUT_KEY, decoded: transfer and deposit inputs must be signed with it. */
    workflowInputKey: Uint8Array;
  };
  /** Observes each activity's duration by name and outcome (`/metrics` of the worker). */
  activityDuration?: Histogram<'activity' | 'outcome'>;
  /** Counts finished transfers by outcome and failure code (`/metrics` of the worker). */
  transfersFinished?: Counter<'outcome' | 'failure_code'>;
  /** Time of this worker's last successful hold-expiry sweep (`/metrics` of the worker). */
  holdExpiryLastSuccess?: Gauge;
  /** The archive sweep reads closed transfers with it (its data converter decodes results). */
  temporal?: Client;
  /** Time of this worker's last finished transfer-archive sweep (`/metrics` of the worker). */
  transferArchiveLastSuccess?: Gauge;
  /** The reserve step's short memory of active users (active-user-cache.ts). */
  activeUsers?: ActiveUserCache;
}

export function createActivities(deps: ActivityDeps) {
  const activities = {
    ...createTransferActivities({
      auth: deps.auth,
      wallet: deps.wallet,
      stepUpThreshold: deps.config.transferStepUpThreshold,
      workflowInputKey: deps.config.workflowInputKey,
      ...(deps.transfersFinished ? { transfersFinished: deps.transfersFinished } : {}),
      ...(deps.activeUsers ? { activeUsers: deps.activeUsers } : {}),
    }),
    ...createOnboardingActivities(deps),
    ...createDepositActivities({ wallet: deps.wallet, workflowInputKey: deps.config.workflowInputKey }),
    ...createHoldExpiryActivities(deps),
    ...createTransferArchiveActivities(deps),
    ...createReversalActivities({ wallet: deps.wallet, workflowInputKey: deps.config.workflowInputKey }),
    ...createWithdrawalActivities({
      auth: deps.auth,
      wallet: deps.wallet,
      ...(deps.payouts ? { payouts: deps.payouts } : {}),
      stepUpThreshold: deps.config.transferStepUpThreshold,
      workflowInputKey: deps.config.workflowInputKey,
    }),
  };
  return deps.activityDuration ? instrument(activities, deps.activityDuration) : activities;
}

export type Activities = ReturnType<typeof createActivities>;

/** Wraps every activity so its duration lands in the histogram labelled ok / failed. */
function instrument<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  histogram: Histogram<'activity' | 'outcome'>,
): T {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const end = histogram.startTimer({ activity: name });
      try {
        const result = await fn(...args);
        end({ outcome: 'ok' });
        return result;
      } catch (err) {
        end({ outcome: 'failed' });
        throw err;
      }
    };
  }
  return wrapped as T;
}
