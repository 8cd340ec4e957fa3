/**
 * A workflow for the payload-codec test: it hands its input to an activity and returns the
 * activity's answer, so every kind of payload (workflow input, activity input, activity
 * result, workflow result) passes through the worker's and the client's data converters.
 */
import { proxyActivities } from '@temporalio/workflow';

export interface EchoActivities {
  echo(input: unknown): Promise<unknown>;
}

const { echo } = proxyActivities<EchoActivities>({ startToCloseTimeout: '30 seconds' });

export async function codecEchoWorkflow(input: unknown): Promise<unknown> {
  return await echo(input);
}
