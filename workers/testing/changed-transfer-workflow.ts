/**
 * A deliberately incompatible edit of transferWorkflow (it schedules a different first
 * activity), bundled only by the replay test to prove that replaying recorded histories
 * catches a non-deterministic change.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { Transfer, TransferInput } from '../../workflows/transfer-contract.js';

const { expireHolds } = proxyActivities<Activities>({ startToCloseTimeout: '10s' });

export async function transferWorkflow(_input: TransferInput): Promise<Transfer> {
  await expireHolds();
  throw new Error('unreachable in replay');
}
