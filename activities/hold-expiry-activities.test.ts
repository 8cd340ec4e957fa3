import { MockActivityEnvironment } from '@temporalio/testing';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { UpstreamUnavailableError, type HttpClient, type UpstreamResult } from '../lib/http-client.js';
import { createHoldExpiryActivities } from './hold-expiry-activities.js';

/** A WalletService double whose `/internal/holds/expire` answers `answer`. */
function wallet(answer: () => UpstreamResult<unknown>): HttpClient {
  return {
    name: 'wallet',
    request: <T>() => Promise.resolve(answer() as UpstreamResult<T>),
  };
}

async function lastSuccess(registry: Registry): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('sweep_last_success')?.get();
  return metric?.values[0]?.value;
}

describe('expireHolds', () => {
  it('records the time of each successful sweep, and only of successful ones', async () => {
    const registry = new Registry();
    const holdExpiryLastSuccess = new Gauge({ name: 'sweep_last_success', help: 'h', registers: [registry] });
    let up = false;
    const { expireHolds } = createHoldExpiryActivities({
      wallet: wallet(() => {
        if (!up) throw new UpstreamUnavailableError('wallet', 'connection refused');
        return { ok: true, status: 200, data: { expired: 2 }, headers: new Headers() };
      }),
      holdExpiryLastSuccess,
    });

    // A sweep that fails (WalletService down) leaves the metric unset: the alert keeps firing.
    await expect(new MockActivityEnvironment().run(expireHolds)).rejects.toThrow();
    expect(await lastSuccess(registry)).toBe(0);

    up = true;
    const before = Date.now() / 1000;
    expect(await new MockActivityEnvironment().run(expireHolds)).toEqual({ expired: 2 });
    expect(await lastSuccess(registry)).toBeGreaterThanOrEqual(Math.floor(before));
  });
});
