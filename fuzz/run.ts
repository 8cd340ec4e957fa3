/**
 * `npm run fuzz` — the saga fault fuzzer, longer than the test suite runs it (docs/reliability.md).
 *
 *   npm run fuzz -- --workflow transfer --runs 2000 --seed 7
 *   npm run fuzz -- --runs 2000 --seed 7             # every workflow fuzz/fuzzers.ts lists, in turn
 *   npm run fuzz -- --runs 200 --concurrency 8       # seed defaults to the time
 *
 * Starts (or reuses) the test profile's PostgreSQL, Redis, MongoDB wire server and Temporal dev
 * server as the vitest global setup does, runs the schedules against the real services, prints
 * one summary per workflow, and shrinks each workflow's first failure into fuzz/findings/ (never into the suite's
 * fuzz/regressions/: a real finding is reported, fixed, and only then becomes a regression).
 */
import { parseArgs } from 'node:util';
import { dropDatabase } from '../scripts/stack/infrastructure.js';
import setupTestInfrastructure from '../test/support/global-setup.js';
import { formatSummary, runCampaign } from './campaign.js';
import { FUZZERS, fuzzerFor } from './fuzzers.js';
import { FINDINGS_DIR, shrink, startFuzzSession, writeCase } from './fuzz-session.js';

const { values } = parseArgs({
  options: {
    workflow: { type: 'string', multiple: true },
    runs: { type: 'string', default: '200' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '12' },
    batch: { type: 'string', default: '60' },
    'shrink-minutes': { type: 'string', default: '15' },
  },
});
const workflows = values.workflow ?? Object.keys(FUZZERS);
for (const w of workflows) {
  if (!FUZZERS[w]) {
    console.error(
      `--workflow ${w}: not fuzzed (one of ${Object.keys(FUZZERS).join(', ')}; docs/reliability.md)`,
    );
    process.exit(2);
  }
}
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const log = (line: string) => console.error(`[fuzz] ${line}`);

await setupTestInfrastructure();
// Its own wallet database per process: two campaigns at once must not recreate each other's.
const name = `fuzz_cli_${process.pid}`;
const session = await startFuzzSession(name);
let exitCode = 0;
try {
  for (const workflow of workflows) {
    const fuzzer = fuzzerFor(workflow);
    log(`${workflow}: seed ${seed}, ${values.runs} schedules, ${values.concurrency} at a time`);
    const summary = await runCampaign(session, fuzzer, {
      seed,
      runs: Number(values.runs),
      concurrency: Number(values.concurrency),
      batchSize: Number(values.batch),
      progress: (line) => log(`${workflow}: ${line}`),
    });
    console.log(formatSummary(summary));
    const first = summary.failures[0];
    if (!first) continue;
    exitCode = 1;
    log(`${workflow}: shrinking schedule ${first.index}…`);
    const shrunk = await shrink(
      session,
      fuzzer,
      seed,
      first.index,
      Number(values['shrink-minutes']) * 60_000,
    );
    if (shrunk) {
      const file = writeCase(
        FINDINGS_DIR,
        `${workflow}-seed-${seed}-${first.index}`,
        shrunk,
        shrunk.violations.join('; '),
      );
      console.log(`shrunk to ${JSON.stringify(shrunk.schedule)}\nwritten to ${file}`);
    } else {
      console.log(
        'the failure did not reproduce alone (it needed the batch around it): see the violations above',
      );
    }
  }
} finally {
  const walletDb = `velora_wallet_test_${name}`;
  if (exitCode === 0) await session.upstreams.wallet.mongo.dropDatabase();
  await session.close();
  if (exitCode === 0) await dropDatabase(walletDb);
  else log(`the run's wallet databases (PostgreSQL and MongoDB ${walletDb}) are kept for inspection`);
}
process.exit(exitCode);
