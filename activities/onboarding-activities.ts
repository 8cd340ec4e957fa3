/** Steps of onboardUserWorkflow: create the user, create the default wallet, activate. */
import type { HttpClient } from '../lib/http-client.js';
import type { Wallet } from '../wallet/wallet-api.js';
import type { CreatedUser } from './upstream-types.js';
import { callUpstream, idempotencyKey } from './upstream.js';

export interface OnboardingActivityDeps {
  auth: HttpClient;
  wallet: HttpClient;
}

export function createOnboardingActivities(deps: OnboardingActivityDeps) {
  /** Turns the parked registration into a `pending` user (or reports an existing one). */
  async function createUser(input: { registration_id: string }): Promise<CreatedUser> {
    const user = await callUpstream<CreatedUser>(deps.auth, 'POST', '/internal/users', {
      body: { registration_id: input.registration_id },
      idempotencyKey: idempotencyKey('create-user'),
    });
    return { user_id: user.user_id, status: user.status, existing: user.existing };
  }

  /** Creates the user's default wallet (an existing one is returned as is). */
  async function createWallet(input: { user_id: string; currency: string }): Promise<{ wallet_id: string }> {
    const wallet = await callUpstream<Wallet>(deps.wallet, 'POST', '/internal/wallets', {
      body: { user_id: input.user_id, currency: input.currency },
      idempotencyKey: idempotencyKey('create-wallet'),
    });
    return { wallet_id: wallet.id };
  }

  async function activateUser(input: { user_id: string }): Promise<{ status: string }> {
    const res = await callUpstream<{ status: string }>(
      deps.auth,
      'POST',
      `/internal/users/${encodeURIComponent(input.user_id)}/activate`,
      { idempotencyKey: idempotencyKey('activate-user') },
    );
    return { status: res.status };
  }

  /** Compensation of createUser: a user without a wallet must not be able to sign in. */
  async function disableUser(input: { user_id: string; reason: string }): Promise<{ status: string }> {
    const res = await callUpstream<{ status: string }>(
      deps.auth,
      'POST',
      `/internal/users/${encodeURIComponent(input.user_id)}/disable`,
      { body: { reason: input.reason }, idempotencyKey: idempotencyKey('disable-user') },
    );
    return { status: res.status };
  }

  return { createUser, createWallet, activateUser, disableUser };
}
