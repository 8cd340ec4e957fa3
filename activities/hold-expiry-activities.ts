/** The sweep the hold-expiry schedule runs every minute. */
import type { Gauge } from 'prom-client';
import type { HttpClient } from '../lib/http-client.js';
import type { HoldExpiryAnswer } from '../wallet/wallet-api.js';
import { callUpstream, idempotencyKey } from './upstream.js';

export interface HoldExpiryActivityDeps {
  wallet: HttpClient;
  /**
   * Set to the time of each successful sweep (`/metrics` of the worker): the alert on a sweep
   * that stopped running reads it (`max` over the workers, docs/runbook.md).
   */
  holdExpiryLastSuccess?: Gauge;
}

export function createHoldExpiryActivities(deps: HoldExpiryActivityDeps) {
  /**
   * Asks WalletService to expire every active hold past its `expires_at` (releasing the funds),
   * heartbeating while it works. Returns how many holds it expired.
   */
  async function expireHolds(): Promise<HoldExpiryAnswer> {
    const res = await callUpstream<HoldExpiryAnswer>(deps.wallet, 'POST', '/internal/holds/expire', {
      body: {},
      idempotencyKey: idempotencyKey('expire-holds'),
    });
    deps.holdExpiryLastSuccess?.setToCurrentTime();
    return { expired: res.expired };
  }

  return { expireHolds };
}
