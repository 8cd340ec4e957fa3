/**
 * The hold-expiry sweep's fault fuzzer in the normal suite: a bounded number of generated
 * schedules (holds with short expiries, a concurrent capturing or releasing actor, sweeps with
 * faults and terminations) against the real WalletService, every invariant checked. The seed
 * changes with the day; a failure prints its seed and schedule index (replay and shrink:
 * `npm run fuzz -- --workflow hold-expiry --seed <seed> --runs <index + 1>`).
 */
import { describe, expect, it } from 'vitest';
import { describeBoundedFuzz } from './bounded-fuzz.js';
import {
  holdFateInvariants,
  holdMoneyInvariants,
  type HoldExpiryLedger,
  type HoldRecord,
  type SweepRecord,
} from './hold-expiry-invariants.js';
import { holdExpiryFuzzer } from './hold-expiry-scenario.js';

describeBoundedFuzz(holdExpiryFuzzer, {
  runs: 32,
  session: 'fuzz_hold_expiry',
  property: 'keeps every hold invariant',
  check: (summary, runs) => expect(summary.ended.completed).toBe(runs),
});

describe('hold-expiry invariants', () => {
  const at = (ms: number) => new Date(1_800_000_000_000 + ms);
  const hold = (status: string, expiresMs: number, updatedMs: number): HoldRecord => ({
    id: `h-${status}`,
    transfer_id: `t-${status}`,
    status,
    amount: 100n,
    captured_amount: status === 'captured' ? 100n : 0n,
    expires_at: at(expiresMs),
    updated_at: at(updatedMs),
  });
  const ledger = (holds: HoldRecord[], over: Partial<HoldExpiryLedger> = {}): HoldExpiryLedger => ({
    payer: { posted: 1000n, pending: BigInt(holds.filter((h) => h.status === 'active').length) * 100n },
    payee: { posted: 0n, pending: 0n },
    holds,
    captures: new Map(),
    events: new Map(holds.filter((h) => h.status !== 'active').map((h) => [h.id, [`hold.${h.status}`]])),
    ...over,
  });
  const sweep = (startMs: number, endMs: number): SweepRecord => ({
    index: 0,
    startedAt: at(startMs).getTime(),
    finishedAt: at(endMs).getTime(),
    ended: 'completed',
  });

  it('accept a hold expired by the first sweep after its expiry, and an unexpired one left active', () => {
    const l = ledger([hold('expired', 1000, 1500), hold('active', 9000, 0)]);
    expect(holdFateInvariants(l, [sweep(1400, 1600)], [])).toEqual([]);
    expect(holdMoneyInvariants(l, 1000n)).toEqual([]);
  });

  it('catch a due hold the sweep left active, or that outlived it, or expired early', () => {
    expect(holdFateInvariants(ledger([hold('active', 1000, 0)]), [sweep(1400, 1600)], [])).toHaveLength(1);
    expect(holdFateInvariants(ledger([hold('expired', 1000, 3000)]), [sweep(1400, 1600)], [])).toHaveLength(
      1,
    );
    expect(holdFateInvariants(ledger([hold('expired', 1000, 900)]), [], [])).toHaveLength(1);
  });

  it('catch funds returned twice, a status event queued twice, and an actor answer the ledger denies', () => {
    const twice = ledger([hold('expired', 1000, 1500)], { payer: { posted: 1000n, pending: -100n } });
    expect(holdMoneyInvariants(twice, 1000n)).not.toEqual([]);
    const events = ledger([hold('expired', 1000, 1500)], {
      events: new Map([['h-expired', ['hold.expired', 'hold.expired']]]),
    });
    expect(holdFateInvariants(events, [], [])).toHaveLength(1);
    const denied = ledger([hold('expired', 1000, 1500)]);
    expect(
      holdFateInvariants(denied, [], [{ action: 'capture', status: 200, answer: 'captured' }]),
    ).toHaveLength(1);
  });
});
