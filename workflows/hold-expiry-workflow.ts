/**
 * holdExpiryWorkflow — started every minute by the `hold-expiry` Temporal Schedule: asks
 * WalletService to expire holds past their `expires_at`, freeing funds of abandoned transfers.
 */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import { sweepActivityOptions } from '../temporal-config/activity-options.js';
import type { HoldExpiryAnswer } from '../wallet/wallet-api.js';

type Activities = ReturnType<typeof activities.createActivities>;

const { expireHolds } = proxyActivities<Activities>(sweepActivityOptions);

/** Schedule id and the workflow-id prefix of its runs. */
export const HOLD_EXPIRY_SCHEDULE_ID = 'hold-expiry';

/** How many holds the sweep expired: WalletService always counts them (0 when none were due). */
export async function holdExpiryWorkflow(): Promise<HoldExpiryAnswer> {
  return expireHolds();
}
