/**
 * The deposit's fault fuzzer in the normal suite: a bounded number of generated deposit
 * schedules against the real WalletService, every invariant checked, every history replayed.
 * The seed changes with the day; a failure prints its seed and schedule index (replay and
 * shrink: `npm run fuzz -- --workflow deposit --seed <seed> --runs <index + 1>`).
 */
import { describeBoundedFuzz } from './bounded-fuzz.js';
import { depositFuzzer } from './deposit-scenario.js';

describeBoundedFuzz(depositFuzzer, {
  runs: 60,
  session: 'fuzz_suite_deposit',
  property: 'credits each reference at most once',
});
