/** The workflows the fuzzer knows, by the name `npm run fuzz -- --workflow <name>` takes. */
import { depositFuzzer } from './deposit-scenario.js';
import type { Schedule, WorkflowFuzzer } from './fuzzer.js';
import { reversalFuzzer } from './reversal-scenario.js';
import { holdExpiryFuzzer } from './hold-expiry-scenario.js';
import { onboardingFuzzer } from './onboarding-scenario.js';
import { transferFuzzer } from './transfer-scenario.js';
import { withdrawalFuzzer } from './withdrawal-scenario.js';

/** Money-moving workflows first: `npm run fuzz` without `--workflow` runs them in this order. */
export const FUZZERS: Readonly<Record<string, WorkflowFuzzer>> = {
  transfer: transferFuzzer,
  deposit: depositFuzzer,
  withdrawal: withdrawalFuzzer,
  reversal: reversalFuzzer,
  'hold-expiry': holdExpiryFuzzer,
  onboarding: onboardingFuzzer,
};

export function fuzzerFor(schedule: Schedule | string): WorkflowFuzzer {
  const name = typeof schedule === 'string' ? schedule : schedule.workflow;
  const fuzzer = FUZZERS[name];
  if (!fuzzer) throw new Error(`no fuzzer for workflow ${name} (one of ${Object.keys(FUZZERS).join(', ')})`);
  return fuzzer;
}
