/** What every workflow's scenario does around its run: fresh wallets, bounded waits. */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FuzzUpstreams } from './fuzz-upstreams.js';

/**
 * A fresh USD wallet of `userId` in the fuzzer's wallet database, with `funded` minor units
 * deposited when above zero. `token` is the upstreams' wallet token (`walletToken()`).
 */
export async function fundedWallet(
  upstreams: FuzzUpstreams,
  token: string,
  userId: string,
  funded: number,
): Promise<string> {
  const created = await upstreams.wallet.call('POST', '/internal/wallets', {
    body: { user_id: userId, currency: 'USD' },
    key: randomUUID(),
    token,
  });
  if (created.status !== 201) throw new Error(`wallet creation answered ${created.status}`);
  const id = String((created.body as { id: string }).id);
  if (funded > 0) {
    const dep = await upstreams.wallet.call('POST', `/internal/wallets/${id}/deposits`, {
      body: { amount: String(funded), currency: 'USD', reference: 'fuzz funding' },
      key: randomUUID(),
      token,
    });
    if (dep.status !== 201) throw new Error(`deposit answered ${dep.status}`);
  }
  return id;
}

/** A message's answer within `ms` (an update waits only for the workflow's next decision). */
export function withTimeout<T>(promise: Promise<T>, ms = 20_000): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms, undefined, { ref: false }).then(() => {
      throw new Error(`no answer within ${ms} ms`);
    }),
  ]);
}
