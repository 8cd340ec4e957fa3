/**
 * The reversal's fault fuzzer in the normal suite: a bounded number of generated reversal
 * schedules against the real WalletService, each on a transfer completed for real first, every
 * invariant checked, every history replayed. The seed changes with the day; a failure prints its
 * seed and schedule index (replay and shrink: `npm run fuzz -- --workflow reversal --seed <seed> --runs <index + 1>`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary, runCampaign } from './campaign.js';
import { reversalFuzzer } from './reversal-scenario.js';
import { startFuzzSession, type FuzzSession } from './fuzz-session.js';

const RUNS = Number(process.env.VELORA_FUZZ_RUNS ?? 24);
const SEED = Number(process.env.VELORA_FUZZ_SEED ?? Math.floor(Date.now() / 86_400_000));

let session: FuzzSession;

beforeAll(async () => {
  session = await startFuzzSession('fuzz_suite_reversal');
});

afterAll(async () => {
  await session?.close();
});

describe('reversal fault fuzzer', () => {
  it(`moves each transfer back at most once over ${RUNS} generated fault schedules (seed ${SEED})`, async () => {
    const summary = await runCampaign(session, reversalFuzzer, {
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
