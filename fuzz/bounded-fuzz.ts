/**
 * A workflow's fault fuzzer in the normal suite: a bounded number of generated schedules
 * against the real services, every invariant checked, every history replayed. The seed changes
 * with the day so the suite explores new schedules over time (`VELORA_FUZZ_SEED` and
 * `VELORA_FUZZ_RUNS` pin them); a failure prints its seed and schedule index (replay and shrink:
 * `npm run fuzz -- --workflow <workflow> --seed <seed> --runs <index + 1>`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary, runCampaign, type CampaignSummary } from './campaign.js';
import type { Schedule, WorkflowFuzzer } from './fuzzer.js';
import { startFuzzSession, type FuzzSession } from './fuzz-session.js';

const SEED = Number(process.env.VELORA_FUZZ_SEED ?? Math.floor(Date.now() / 86_400_000));

export function describeBoundedFuzz<S extends Schedule>(
  fuzzer: WorkflowFuzzer<S>,
  options: {
    /** Schedules per run of the suite (sized to take well under a minute on a quiet machine). */
    runs: number;
    /** The wallet database's name: unique per test file. */
    session: string;
    /** What the test asserts, for its title ("keeps every money invariant"). */
    property: string;
    /** More the workflow's summary must show. */
    check?: (summary: CampaignSummary, runs: number) => void;
  },
): void {
  const runs = Number(process.env.VELORA_FUZZ_RUNS ?? options.runs);
  let session: FuzzSession;

  beforeAll(async () => {
    session = await startFuzzSession(options.session);
  });

  afterAll(async () => {
    await session?.close();
  });

  describe(`${fuzzer.workflow} fault fuzzer`, () => {
    it(`${options.property} over ${runs} generated fault schedules (seed ${SEED})`, async () => {
      const summary = await runCampaign(session, fuzzer, {
        seed: SEED,
        runs,
        concurrency: 12,
        batchSize: runs,
      });
      console.log(formatSummary(summary));
      expect(summary.failures).toEqual([]);
      expect(summary.schedules).toBe(runs);
      expect(summary.historiesReplayed).toBe(runs - (summary.ended.stuck ?? 0));
      options.check?.(summary, runs);
    }, 170_000);
  });
}
