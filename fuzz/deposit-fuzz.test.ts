/**
 * The deposit's fault fuzzer in the normal suite: a bounded number of generated deposit
 * schedules against the real WalletService, every invariant checked, every history replayed.
 * The seed changes with the day; a failure prints its seed and schedule index (replay and
 * shrink: `npm run fuzz -- --workflow deposit --seed <seed> --runs <index + 1>`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary, runCampaign } from './campaign.js';
import { depositFuzzer } from './deposit-scenario.js';
import { startFuzzSession, type FuzzSession } from './fuzz-session.js';

const RUNS = Number(process.env.VELORA_FUZZ_RUNS ?? 60);
const SEED = Number(process.env.VELORA_FUZZ_SEED ?? Math.floor(Date.now() / 86_400_000));

let session: FuzzSession;

beforeAll(async () => {
  session = await startFuzzSession('fuzz_suite_deposit');
});

afterAll(async () => {
  await session?.close();
});

describe('deposit fault fuzzer', () => {
  it(`credits each reference at most once over ${RUNS} generated fault schedules (seed ${SEED})`, async () => {
    const summary = await runCampaign(session, depositFuzzer, {
      seed: SEED,
      runs: RUNS,
      concurrency: 12,
      batchSize: RUNS,
    });
    console.log(formatSummary(summary));
    expect(summary.failures).toEqual([]);
    expect(summary.schedules).toBe(RUNS);
    expect(summary.historiesReplayed).toBe(RUNS - (summary.ended.stuck ?? 0));
  }, 170_000);
});
