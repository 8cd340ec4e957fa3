/**
 * The bench's own Temporal worker (a child process of `npm run bench`, so its CPU is counted
 * apart): the real transfer workflow and an empty workflow, with no-op activities, on its own
 * task queue of the stack's Temporal, connected and tuned like the stack's worker (TLS, payload
 * codec, the pollers of workers/worker-tuning.ts: the SDK's default 10 + 10 long polls would
 * load the server differently from the worker the floor is compared with).
 * Prints `ready` once it polls; SIGTERM stops it.
 *
 *   node --import tsx bench/floor/floor-worker.ts <task queue>
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { WORKER_TUNING } from '../../workers/worker-tuning.js';
import { noopActivities } from './noop-activities.js';
import { stackTemporal } from './stack-temporal.js';

const [taskQueue = 'velora-bench-floor'] = process.argv.slice(2);
const temporal = stackTemporal();

Runtime.install({
  logger: {
    log: () => undefined,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (message) => console.error(`floor worker: ${message}`),
    error: (message) => console.error(`floor worker: ${message}`),
  },
});

const workflowBundle = await bundleWorkflowCode({
  workflowsPath: fileURLToPath(new URL(`./floor-workflows${extname(import.meta.url)}`, import.meta.url)),
  logger: {
    log: () => undefined,
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (m) => console.error(m),
  },
});
const connection = await NativeConnection.connect({ address: temporal.address, tls: temporal.tls });
const worker = await Worker.create({
  connection,
  namespace: temporal.namespace,
  taskQueue,
  workflowBundle,
  dataConverter: temporal.dataConverter,
  activities: noopActivities(),
  ...WORKER_TUNING,
});
const running = worker.run();
console.log('ready');
await running;
await connection.close();
