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
import { HISTORIES_DIR, workflowBundle } from '../workers/testing/workflow-test-env.js';

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
});
