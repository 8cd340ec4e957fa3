/**
 * Replays every regression case in fuzz/regressions/ (a shrunk schedule, with the seed and
 * path that produced it). A case found against a planted defect (`plant`) must fail with the
 * defect and pass without it; any other case must pass: it is a bug that was fixed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Schedule } from './fuzzer.js';
import { fuzzerFor } from './fuzzers.js';
import { REGRESSIONS_DIR, runOne, startFuzzSession, type FuzzSession } from './fuzz-session.js';
import type { PlantedBug } from './fuzz-upstreams.js';

interface RegressionCase {
  note: string;
  seed: number;
  path: string;
  plant?: PlantedBug;
  schedule: Schedule;
}

const cases = readdirSync(REGRESSIONS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({
    file,
    ...(JSON.parse(readFileSync(path.join(REGRESSIONS_DIR, file), 'utf8')) as RegressionCase),
  }));
const plants = [...new Set(cases.flatMap((c) => (c.plant ? [c.plant] : [])))];

let clean: FuzzSession;
const planted = new Map<PlantedBug, FuzzSession>();

beforeAll(async () => {
  clean = await startFuzzSession('fuzz_regressions');
  for (const plant of plants) planted.set(plant, await startFuzzSession(`fuzz_regressions_${plant}`, plant));
});

afterAll(async () => {
  await clean?.close();
  for (const s of planted.values()) await s.close();
});

describe('fuzz regression cases', () => {
  it('exist (the planted defect’s case at least)', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)('$file passes on the product code', async ({ schedule }) => {
    const result = await runOne(clean, fuzzerFor(schedule), schedule);
    expect(result.violations).toEqual([]);
  });

  it.each(cases.filter((c) => c.plant))('$file fails with its planted defect ($plant)', async (c) => {
    const result = await runOne(planted.get(c.plant!)!, fuzzerFor(c.schedule), c.schedule);
    expect(result.violations).not.toEqual([]);
  });
});
