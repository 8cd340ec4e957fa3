/**
 * The reversal's fault fuzzer in the normal suite: a bounded number of generated reversal
 * schedules against the real WalletService, each on a transfer completed for real first, every
 * invariant checked, every history replayed. The seed changes with the day; a failure prints its
 * seed and schedule index (replay and shrink: `npm run fuzz -- --workflow reversal --seed <seed> --runs <index + 1>`).
 */
import { describeBoundedFuzz } from './bounded-fuzz.js';
import { reversalFuzzer } from './reversal-scenario.js';

describeBoundedFuzz(reversalFuzzer, {
  runs: 24,
  session: 'fuzz_suite_reversal',
  property: 'moves each transfer back at most once',
});
