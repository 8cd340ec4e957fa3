/**
 * Replays every recorded history (test/histories/*.json) against the current workflow code.
 * A change that would make running workflows non-deterministic fails here, in CI, before it
 * reaches a worker. Histories are recorded from the workflow tests with
 * `VELORA_RECORD_HISTORIES=1 npx vitest run workflows/` (see docs/orchestrator.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { historyFromJson } from '../workers/testing/history-json.js';
import { HISTORIES_DIR, workflowBundle } from '../workers/testing/workflow-test-env.js';

// Top level only: test/histories/retired-before-<date>/ holds histories of runs this code no
// longer replays (their README says why); the last test proves that they fail.
const files = readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function load(file: string) {
  return historyFromJson(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
}

async function replayEach(bundle: WorkflowBundle, names: string[]) {
  const results: { workflowId: string; error?: unknown }[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: bundle },
    names.map((file) => ({ workflowId: file, history: load(file) })),
  )) {
    results.push(result);
  }
  return results;
}

/**
 * The retired histories this code must refuse, per folder: a run like them could not go on
 * after a deploy, which is why each release in between waited for the drain check
 * (docs/runbook.md, "Releases that retire a patch").
 */
const RETIRED_AND_FAILING: Record<string, string[] | 'all'> = {
  // Recorded by the 2026-12-01 release: markers of patches the code no longer asks, not flagged
  // deprecated, which the SDK refuses to skip.
  'retired-before-2026-12-02': 'all',
  // Recorded before the 2026-12-01 patches: these took an old path the code no longer has (the
  // README says why; the other 14 issue the same commands on both paths and replay by accident).
  'retired-before-2026-12-01': [
    'transfer-cancelled-awaiting-otp.json',
    'transfer-cancelled-before-capture.json',
    'transfer-needs-attention-retried.json',
    'transfer-step-up-otp-failed.json',
  ],
};

describe('workflow histories replay deterministically', () => {
  it('cover every workflow', () => {
    const types = new Set(
      files.map(
        (file) =>
          load(file).events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? 'unknown',
      ),
    );
    expect([...types].sort()).toEqual([
      'depositWorkflow',
      'holdExpiryWorkflow',
      'onboardUserWorkflow',
      'reversalWorkflow',
      'transferWorkflow',
      'withdrawalWorkflow',
    ]);
  });

  it('replay with the current code', async () => {
    const failures = (await replayEach(await workflowBundle(), files)).filter((r) => r.error);
    expect(failures.map((r) => `${r.workflowId}: ${String(r.error)}`)).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  it('fail for a non-deterministic edit (the guard works)', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(
        new URL('../workers/testing/changed-transfer-workflow.ts', import.meta.url),
      ),
      logger: new DefaultLogger('ERROR'),
    });
    const results = await replayEach(changed, ['transfer-completed.json']);
    expect(results).toHaveLength(1);
    expect(results[0]!.error).toBeInstanceOf(DeterminismViolationError);
  });

  it.each(Object.entries(RETIRED_AND_FAILING))(
    'fail for the retired histories of %s',
    async (folder, failing) => {
      const inFolder = readdirSync(path.join(HISTORIES_DIR, folder))
        .filter((f) => f.endsWith('.json'))
        .sort();
      const names = failing === 'all' ? inFolder : failing;
      expect(names.length).toBeGreaterThanOrEqual(4);
      expect(inFolder).toEqual(expect.arrayContaining(names));
      const results = await replayEach(
        await workflowBundle(),
        names.map((f) => path.join(folder, f)),
      );
      expect(results).toHaveLength(names.length);
      for (const result of results) {
        expect(result.error, result.workflowId).toBeInstanceOf(DeterminismViolationError);
      }
    },
  );
});
