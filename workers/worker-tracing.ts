import { createRequire } from 'node:module';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker/index.js';
import type { WorkerInterceptors, WorkerOptions } from '@temporalio/worker';
import type { Telemetry } from '../lib/telemetry.js';

/** What tracing adds to the worker: bundled workflow interceptors, activity interceptors, a sink. */
export interface WorkerTracing {
  /** For `bundleWorkflowCode`: the workflow interceptors that run inside the workflow sandbox. */
  workflowInterceptorModules: string[];
  /** For `Worker.create`. */
  interceptors: WorkerInterceptors;
  sinks: NonNullable<WorkerOptions['sinks']>;
}

const require = createRequire(import.meta.url);

/**
 * The worker's part of a transfer's trace (`@temporalio/interceptors-opentelemetry`): each
 * workflow run, update, signal, activity (local ones too) and child start is a span, in the trace the
 * gateway's request started (its context travels in Temporal headers). Workflow spans are made
 * in the sandbox and handed to this process's span processor through a sink, never recorded
 * in the history, so tracing changes no command a workflow sends: recorded histories replay
 * with the interceptors bundled (workers/worker-tracing.test.ts).
 *
 * `undefined` telemetry (tracing off) adds nothing: the bundle carries no interceptor.
 */
export function workerTracing(telemetry: Telemetry | undefined): WorkerTracing {
  if (!telemetry) return { workflowInterceptorModules: [], interceptors: {}, sinks: {} };
  return {
    workflowInterceptorModules: [WORKFLOW_INTERCEPTORS],
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(telemetry.spanProcessor, telemetry.resource) },
  };
}

/** The interceptors' workflow module (what their plugin registers; the plugin API is experimental). */
export const WORKFLOW_INTERCEPTORS =
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
