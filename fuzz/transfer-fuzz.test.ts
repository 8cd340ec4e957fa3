/**
 * The fault fuzzer in the normal suite: a bounded number of generated transfer schedules
 * against the real services, every invariant checked, every history replayed. The seed changes
 * with the day so the suite explores new schedules over time; a failure prints its seed and
 * schedule index (replay and shrink: `npm run fuzz -- --workflow transfer --seed <seed> --runs <index + 1>`).
 */
import { describeBoundedFuzz } from './bounded-fuzz.js';
import { transferFuzzer } from './transfer-scenario.js';

describeBoundedFuzz(transferFuzzer, {
  runs: 48,
  session: 'fuzz_suite',
  property: 'keeps every money invariant',
});
