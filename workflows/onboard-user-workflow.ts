/**
 * onboardUserWorkflow — turns a parked registration into an active user with a default wallet:
 * create user → create wallet → activate. If the wallet cannot be created the user is disabled
 * (a user without a wallet must not be able to sign in). An email that is already registered
 * creates nothing and answers in the same shape, so the edge cannot enumerate accounts.
 */
import { ApplicationFailure } from '@temporalio/common';
import { proxyActivities, setCurrentDetails, uuid4 } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import {
  compensationActivityOptions,
  serviceCallActivityOptions,
} from '../temporal-config/activity-options.js';
import { failureMessage, failureType } from './failures.js';
import type { OnboardUserInput, OnboardUserResult } from './onboarding-contract.js';
import { Saga } from './saga.js';

type Activities = ReturnType<typeof activities.createActivities>;

const { createUser, createWallet, activateUser } = proxyActivities<Activities>(serviceCallActivityOptions);
const { disableUser } = proxyActivities<Activities>(compensationActivityOptions);

export async function onboardUserWorkflow(input: OnboardUserInput): Promise<OnboardUserResult> {
  setCurrentDetails(`**onboarding** registration \`${input.registration_id}\`: creating the user`);
  const user = await createUser({ registration_id: input.registration_id }).catch((err: unknown) => {
    throw asWorkflowFailure(err);
  });
  if (user.existing) {
    // Same shape and timing class as a fresh sign-up; the real owner was notified by AuthService.
    setCurrentDetails(
      `**done** registration \`${input.registration_id}\`: email already registered, nothing created`,
    );
    return { user_id: user.user_id, wallet_id: uuid4(), status: 'active' };
  }

  const saga = new Saga();
  try {
    // Registered before the wallet step: whatever happens from here, a half-made account is disabled.
    saga.add('create_user', async () => {
      await disableUser({
        user_id: user.user_id,
        reason: 'onboarding failed: the default wallet could not be created',
      });
    });
    setCurrentDetails(`**onboarding** user \`${user.user_id}\`: creating the ${input.currency} wallet`);
    const wallet = await createWallet({ user_id: user.user_id, currency: input.currency });
    setCurrentDetails(`**onboarding** user \`${user.user_id}\`: activating`);
    const activated = await activateUser({ user_id: user.user_id });
    setCurrentDetails(
      `**done** user \`${user.user_id}\` is ${activated.status} with wallet \`${wallet.wallet_id}\``,
    );
    return { user_id: user.user_id, wallet_id: wallet.wallet_id, status: activated.status };
  } catch (err) {
    setCurrentDetails(`**compensating** user \`${user.user_id}\`: ${failureMessage(err)}`);
    await saga.compensate({
      stuck: (compensation, compErr) => {
        // Nobody waits on an onboarding for hours: fail loudly so it shows up as a failed run.
        throw ApplicationFailure.nonRetryable(
          `undo of ${compensation.step} failed: ${failureMessage(compErr)} (user ${user.user_id} may be left pending)`,
          'compensation_failed',
        );
      },
    });
    setCurrentDetails(`**failed** user \`${user.user_id}\` disabled: ${failureMessage(err)}`);
    throw asWorkflowFailure(err);
  }
}

/** Fails the workflow with the activity's domain code as `type`, so the gateway can map it. */
function asWorkflowFailure(err: unknown): ApplicationFailure {
  return ApplicationFailure.nonRetryable(failureMessage(err), failureType(err) ?? 'internal_error');
}
