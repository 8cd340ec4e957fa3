/**
 * Operator check before a release that deprecates or removes a workflow patch:
 *
 *   node --import tsx scripts/ops/drain-check.ts --before <ISO time> [--type transferWorkflow ...]
 *
 * Lists every workflow run still open (ExecutionStatus = 'Running') that started before the
 * given time, counted per workflow type (all types unless `--type` names some). Such a run may
 * hold history written by code older than that time, which the release's code can no longer
 * replay (docs/orchestrator.md, "Versioning rule"; docs/runbook.md, "Releases that retire a
 * patch"). Prints a JSON report; exit 0 when none is open ("drained"), 1 when some are, 2 on
 * error (bad arguments, Temporal unreachable). Reads visibility only: no payload, no codec key.
 *
 * Environment (the worker's names): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_* (the
 * worker's client certificate in production).
 */
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { tsToDate } from '@temporalio/common/lib/time.js';
import { z } from 'zod';
import { env, parseConfig } from '../../lib/config.js';
import { temporalTlsEnv, temporalTlsFromConfig } from '../../lib/temporal-tls.js';
import { DEFAULT_NAMESPACE } from '../../temporal-config/index.js';
import { listExecutions } from './visibility.js';

/** How many open runs the report names per type (the count is always complete). */
const LISTED_PER_TYPE = 20;

export interface OpenRun {
  workflow_id: string;
  run_id: string;
  started_at: string | null;
}

export interface DrainReport {
  /** True when no run started before `before` is open. */
  drained: boolean;
  before: string;
  namespace: string;
  /** Open runs per workflow type (only types that have some). */
  open: Record<string, { count: number; oldest: OpenRun[] }>;
}

/** A visibility-query literal: the value is an ISO time or a validated type name, never free text. */
function quoted(value: string): string {
  return `'${value}'`;
}

const WORKFLOW_TYPE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export async function drainCheck(
  connection: Connection,
  options: { namespace: string; before: Date; types?: readonly string[] },
): Promise<DrainReport> {
  const types = options.types ?? [];
  for (const type of types) {
    if (!WORKFLOW_TYPE.test(type)) throw new Error(`not a workflow type name: ${type}`);
  }
  let query = `ExecutionStatus = 'Running' AND StartTime < ${quoted(options.before.toISOString())}`;
  if (types.length > 0) query += ` AND WorkflowType IN (${types.map(quoted).join(', ')})`;
  const open: DrainReport['open'] = {};
  for await (const wf of listExecutions(connection, options.namespace, query)) {
    const type = wf.type?.name ?? 'unknown';
    const entry = (open[type] ??= { count: 0, oldest: [] });
    entry.count += 1;
    entry.oldest.push({
      workflow_id: wf.execution?.workflowId ?? '',
      run_id: wf.execution?.runId ?? '',
      started_at: wf.startTime ? tsToDate(wf.startTime).toISOString() : null,
    });
  }
  for (const entry of Object.values(open)) {
    entry.oldest.sort((a, b) => (a.started_at ?? '').localeCompare(b.started_at ?? ''));
    entry.oldest.splice(LISTED_PER_TYPE);
  }
  return {
    drained: Object.keys(open).length === 0,
    before: options.before.toISOString(),
    namespace: options.namespace,
    open,
  };
}

const configSchema = z.object({
  TEMPORAL_ADDRESS: env.string('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: env.string(DEFAULT_NAMESPACE),
  ...temporalTlsEnv,
});

const argsSchema = z.object({
  before: z.iso.datetime({ offset: true }),
  type: z.array(z.string()).default([]),
});

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { before: { type: 'string' }, type: { type: 'string', multiple: true } },
    strict: true,
  });
  const args = argsSchema.safeParse(values);
  if (!args.success) {
    console.error(
      'usage: node --import tsx scripts/ops/drain-check.ts --before <ISO time with offset> [--type <WorkflowType> ...]',
    );
    return 2;
  }
  const config = parseConfig('drain-check', configSchema);
  const connection = await Connection.connect({
    address: config.TEMPORAL_ADDRESS,
    tls: temporalTlsFromConfig(config),
  });
  try {
    const report = await drainCheck(connection, {
      namespace: config.TEMPORAL_NAMESPACE,
      before: new Date(args.data.before),
      types: args.data.type,
    });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.drained ? 0 : 1;
  } finally {
    await connection.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(2);
    },
  );
}
