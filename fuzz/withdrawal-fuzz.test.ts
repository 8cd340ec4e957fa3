/**
 * The fault fuzzer in the normal suite: a bounded number of generated withdrawal schedules
 * against the real services, every invariant checked, every history replayed. The seed changes
 * with the day so the suite explores new schedules over time; a failure prints its seed and
 * schedule index (replay and shrink: `npm run fuzz -- --workflow withdrawal --seed <seed> --runs <index + 1>`).
 */
import { describeBoundedFuzz } from './bounded-fuzz.js';
import { withdrawalFuzzer } from './withdrawal-scenario.js';

describeBoundedFuzz(withdrawalFuzzer, {
  runs: 24,
  session: 'fuzz_suite_withdrawal',
  property: 'keeps every money invariant',
});
