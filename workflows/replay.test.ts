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
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { historyFromJson } from '../workers/testing/history-json.js';
import { HISTORIES_DIR, WORKFLOWS_PATH, workflowBundle } from '../workers/testing/workflow-test-env.js';

// Top level only: test/histories/retired-*/ holds histories of runs this code no longer replays
// (their README says why); they are kept as a record, not replayed.
const files = readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function load(file: string) {
  return historyFromJson(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
}

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
      'transferWorkflow',
      'withdrawalWorkflow',
    ]);
  });

  it('replay with the current code', async () => {
    const histories = files.map((file) => ({
      workflowId: path.basename(file, '.json'),
      history: load(file),
    }));
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: await workflowBundle() },
      histories,
    )) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failures).toEqual([]);
    expect(histories.length).toBeGreaterThanOrEqual(15);
  });

  it('fail for a non-deterministic edit (the guard works)', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(
        new URL('../workers/testing/changed-transfer-workflow.ts', import.meta.url),
      ),
      logger: new DefaultLogger('ERROR'),
    });
    const file = files.find((f) => f === 'transfer-completed.json')!;
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: changed }, [
      { workflowId: 'transfer-completed', history: load(file) },
    ])) {
      results.push(result);
    }
    expect(results).toHaveLength(1);
    expect(results[0]!.error).toBeInstanceOf(DeterminismViolationError);
  });

  describe('the release after the deprecation removes the deprecatePatch calls', () => {
    // The transfer workflow bundled as that release will be: the SDK module in the bundle
    // replaced by one whose deprecatePatch does nothing (workers/testing/patch-calls-removed.ts).
    const withoutPatchCalls = () =>
      bundleWorkflowCode({
        workflowsPath: WORKFLOWS_PATH,
        logger: new DefaultLogger('ERROR'),
        webpackConfigHook: (config) => ({
          ...config,
          resolve: {
            ...config.resolve,
            alias: {
              ...(config.resolve?.alias as Record<string, string> | undefined),
              '@temporalio/workflow$': fileURLToPath(
                new URL('../workers/testing/patch-calls-removed.ts', import.meta.url),
              ),
            },
          },
        }),
      });
    const transferFiles = (patchedRelease: boolean) =>
      files.filter((f) => f.startsWith('transfer-') && f.endsWith('.patched.json') === patchedRelease);

    async function replayEach(bundle: Awaited<ReturnType<typeof bundleWorkflowCode>>, names: string[]) {
      const results: { workflowId: string; error?: unknown }[] = [];
      for await (const result of Worker.runReplayHistories(
        { workflowBundle: bundle },
        names.map((file) => ({ workflowId: file, history: load(file) })),
      )) {
        results.push(result);
      }
      return results;
    }

    it('replays every history this release records', async () => {
      const names = transferFiles(false);
      expect(names.length).toBeGreaterThanOrEqual(20);
      const failures = (await replayEach(await withoutPatchCalls(), names)).filter((r) => r.error);
      expect(failures.map((r) => `${r.workflowId}: ${String(r.error)}`)).toEqual([]);
    });

    it('cannot replay a run of the patched release: those must drain before it is deployed', async () => {
      const names = transferFiles(true);
      expect(names.length).toBeGreaterThanOrEqual(6);
      const results = await replayEach(await withoutPatchCalls(), names);
      expect(results).toHaveLength(names.length);
      for (const result of results) expect(result.error).toBeInstanceOf(DeterminismViolationError);
    });
  });
});
