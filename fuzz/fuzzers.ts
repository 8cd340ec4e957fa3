/** The workflows the fuzzer knows, by the name `npm run fuzz -- --workflow <name>` takes. */
import type { Schedule, WorkflowFuzzer } from './fuzzer.js';
import { transferFuzzer } from './transfer-scenario.js';

export const FUZZERS: Readonly<Record<string, WorkflowFuzzer>> = {
  transfer: transferFuzzer,
};

export function fuzzerFor(schedule: Schedule | string): WorkflowFuzzer {
  const name = typeof schedule === 'string' ? schedule : schedule.workflow;
  const fuzzer = FUZZERS[name];
  if (!fuzzer) throw new Error(`no fuzzer for workflow ${name} (one of ${Object.keys(FUZZERS).join(', ')})`);
  return fuzzer;
}
