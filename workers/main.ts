/**
 * The orchestrator worker process — the only place where things are wired: HTTP clients with
 * the cached service token, activities, the prebundled workflow code, the Temporal worker, the
 * hold-expiry schedule and the health server. Any number of copies can share the task queue.
 *
 *   node --import tsx workers/main.ts
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { clientCredentialsToken, createHttpClient } from '../lib/http-client.js';
import { createLogger } from '../lib/logger.js';
import { dataConverterFromConfig } from '../lib/payload-codec.js';
import { serveApp } from '../lib/serve.js';
import { startTelemetry } from '../lib/telemetry.js';
import { temporalTlsFromConfig } from '../lib/temporal-tls.js';
import { createServiceApp } from '../lib/service-app.js';
import { workflowInputKey } from '../lib/workflow-input-signature.js';
import { createActivities } from '../activities/index.js';
import { createActiveUserCache } from '../activities/active-user-cache.js';
import { startCodecServer } from './codec-server.js';
import { loadWorkerConfig } from './config.js';
import { scheduleRewritesCounter } from './converge-schedule.js';
import { ensureHoldExpirySchedule } from './hold-expiry-schedule.js';
import { ensureTransferArchiveSchedule } from './transfer-archive-schedule.js';
import { registerParkedTransfersGauge } from './parked-transfers.js';
import { temporalLogger } from './temporal-logger.js';
import { WORKER_TUNING } from './worker-tuning.js';
import { workerTracing } from './worker-tracing.js';

const SERVICE_SCOPE = 'auth:internal wallet:read wallet:write';

async function main(): Promise<void> {
  const tracing = workerTracing(await startTelemetry('orchestrator-worker'));
  const config = loadWorkerConfig();
  const log = createLogger('orchestrator-worker', config.LOG_LEVEL);
  // Our SIGTERM handler (serveApp's onClose) drains the worker; the SDK must not race it.
  Runtime.install({ logger: temporalLogger(log), shutdownSignals: [] });

  const token = clientCredentialsToken({
    tokenUrl: new URL('/v1/auth/token', config.AUTH_URL).toString(),
    clientId: config.ORCHESTRATOR_CLIENT_ID,
    clientSecret: config.ORCHESTRATOR_CLIENT_SECRET,
    scope: SERVICE_SCOPE,
  });
  const auth = createHttpClient({ name: 'auth', baseUrl: config.AUTH_URL, token });
  const wallet = createHttpClient({ name: 'wallet', baseUrl: config.WALLET_URL, token });
  const payouts = createHttpClient({
    name: 'payouts',
    baseUrl: config.PAYOUT_PROVIDER_URL,
    defaultHeaders: () => ({ authorization: `Bearer ${config.PAYOUT_PROVIDER_API_KEY ?? ''}` }),
  });

  const registry = new Registry();
  const activityDuration = new Histogram({
    name: 'orchestrator_activity_duration_seconds',
    help: 'Activity execution time by activity and outcome',
    labelNames: ['activity', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const transfersFinished = new Counter({
    name: 'orchestrator_transfers_finished_total',
    help: 'Transfers finalized, by outcome (completed, failed, cancelled) and failure code',
    labelNames: ['outcome', 'failure_code'] as const,
    registers: [registry],
  });
  const holdExpiryLastSuccess = new Gauge({
    name: 'orchestrator_hold_expiry_last_success_timestamp_seconds',
    help: 'Unix time of the last hold-expiry sweep this worker completed (alert on max over workers)',
    registers: [registry],
  });
  const transferArchiveLastSuccess = new Gauge({
    name: 'orchestrator_transfer_archive_last_success_timestamp_seconds',
    help: 'Unix time of the last transfer-archive sweep this worker finished (alert on max over workers)',
    registers: [registry],
  });
  // Mutual TLS and payload encryption when configured (always in production).
  const tls = temporalTlsFromConfig(config);
  const dataConverter = dataConverterFromConfig(config);
  const clientConnection = await Connection.connect({ address: config.TEMPORAL_ADDRESS, tls });
  const client = new Client({
    connection: clientConnection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter,
  });
  const activities = createActivities({
    auth,
    wallet,
    payouts,
    config: {
      transferStepUpThreshold: config.TRANSFER_STEP_UP_THRESHOLD,
      workflowInputKey: workflowInputKey(config.WORKFLOW_INPUT_KEY),
    },
    activityDuration,
    transfersFinished,
    holdExpiryLastSuccess,
    temporal: client,
    transferArchiveLastSuccess,
    activeUsers: createActiveUserCache({ ttlMs: config.ACTIVE_USER_CACHE_MS }),
  });

  log.info('bundling workflow code');
  const workflowBundle = await bundleWorkflowCode({
    // Same extension as this module: .ts under tsx (local stack), .js in the built image.
    workflowsPath: fileURLToPath(new URL(`../workflows/index${extname(import.meta.url)}`, import.meta.url)),
    logger: temporalLogger(log),
    workflowInterceptorModules: tracing.workflowInterceptorModules,
  });

  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS, tls });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowBundle,
    activities,
    shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE_MS,
    dataConverter,
    interceptors: tracing.interceptors,
    sinks: tracing.sinks,
    // Measured choices, explained in workers/worker-tuning.ts.
    ...WORKER_TUNING,
  });

  // The declared schedules (their own task queue), never this worker's queue.
  // A schedule written with a payload key this worker no longer holds is created again.
  const schedules = { client, log, rewrites: scheduleRewritesCounter(registry) };
  if (config.HOLD_EXPIRY_SCHEDULE) await ensureHoldExpirySchedule(schedules);
  if (config.TRANSFER_ARCHIVE_SCHEDULE) await ensureTransferArchiveSchedule(schedules);
  // orchestrator_transfers_needs_attention, counted in visibility when a scrape finds it stale.
  registerParkedTransfersGauge({ client, registry, log });

  const { app } = createServiceApp({
    service: 'orchestrator-worker',
    log,
    registry,
    readiness: async () => ({ temporal: worker.getState() === 'RUNNING' }),
  });

  const codecServer = await startCodecServer(config, log);
  const running = worker.run();
  running.then(
    () => log.info('worker stopped'),
    (err: unknown) => {
      log.fatal({ err }, 'worker failed');
      process.exit(1);
    },
  );

  await serveApp({
    app,
    host: config.WORKER_HEALTH_HOST,
    port: config.WORKER_HEALTH_PORT,
    log,
    // SIGTERM: stop polling, let running tasks finish (up to the grace time), then close.
    onClose: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await clientConnection.close();
      codecServer?.close();
    },
  });
  log.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, namespace: config.TEMPORAL_NAMESPACE }, 'worker running');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
