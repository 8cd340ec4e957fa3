/**
 * Tracing must not change what a workflow does: every recorded history (test/histories/*.json,
 * most recorded without the OpenTelemetry interceptors) replays with them bundled, as it does
 * without them (workflows/replay.test.ts). A worker that turns tracing on therefore picks up
 * running transfers without a determinism failure, and one that turns it off again likewise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { historyFromJson } from './testing/history-json.js';
import { HISTORIES_DIR, WORKFLOWS_PATH } from './testing/workflow-test-env.js';
import { WORKFLOW_INTERCEPTORS, workerTracing } from './worker-tracing.js';

describe('workflow tracing interceptors', () => {
  it('add nothing when tracing is off', () => {
    expect(workerTracing(undefined)).toEqual({ workflowInterceptorModules: [], interceptors: {}, sinks: {} });
  });

  it('replay every recorded history deterministically', async () => {
    const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(15);
    const tracing = workerTracing({
      service: 'replay-test',
      spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()),
      resource: new Resource({}),
      shutdown: async () => undefined,
    });
    expect(tracing.workflowInterceptorModules).toEqual([WORKFLOW_INTERCEPTORS]);
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: tracing.workflowInterceptorModules,
      logger: new DefaultLogger('ERROR'),
    });
    const histories = files.map((file) => ({
      workflowId: path.basename(file, '.json'),
      history: historyFromJson(JSON.parse(readFileSync(path.join(HISTORIES_DIR, file), 'utf8'))),
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowBundle, interceptors: tracing.interceptors, sinks: tracing.sinks },
      histories,
    )) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  });
});
