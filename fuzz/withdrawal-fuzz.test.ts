/**
 * The fault fuzzer in the normal suite: a bounded number of generated withdrawal schedules
 * against the real services, every invariant checked, every history replayed. The seed changes
 * with the day so the suite explores new schedules over time; a failure prints its seed and
 * schedule index (replay and shrink: `npm run fuzz -- --workflow withdrawal --seed <seed> --runs <index + 1>`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary, runCampaign } from './campaign.js';
import { startFuzzSession, type FuzzSession } from './fuzz-session.js';
import { withdrawalFuzzer } from './withdrawal-scenario.js';

const RUNS = Number(process.env.VELORA_FUZZ_RUNS ?? 24);
const SEED = Number(process.env.VELORA_FUZZ_SEED ?? Math.floor(Date.now() / 86_400_000));

let session: FuzzSession;

beforeAll(async () => {
  session = await startFuzzSession('fuzz_suite_withdrawal');
});

afterAll(async () => {
  await session?.close();
});

describe('withdrawal fault fuzzer', () => {
  it(`keeps every money invariant over ${RUNS} generated fault schedules (seed ${SEED})`, async () => {
    const summary = await runCampaign(session, withdrawalFuzzer, {
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
