import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../../temporal-config/index.js';
import { ROOT } from './paths.js';
import { runningPid, startProcess, tcpOpen, waitFor } from './processes.js';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/** `--dynamic-config-value KEY=VALUE` flags from temporal-config/dynamic-config.yaml. */
export function dynamicConfigFlags(): string[] {
  const doc = parse(
    readFileSync(path.join(ROOT, 'temporal-config', 'dynamic-config.yaml'), 'utf8'),
  ) as Record<string, { value: unknown }[]>;
  return Object.entries(doc).flatMap(([key, entries]) => {
    const value = entries[0]?.value;
    return ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`];
  });
}

/** True when the frontend answers a health check. */
export async function temporalHealthy(port: number): Promise<boolean> {
  if (!(await tcpOpen(port))) return false;
  try {
    const { stdout } = await run(
      requireTool('temporal', 'TEMPORAL_CLI_PATH'),
      ['operator', 'cluster', 'health', '--address', `127.0.0.1:${port}`],
      {
        timeout: 5000,
      },
    );
    return /SERVING/.test(stdout);
  } catch {
    return false;
  }
}

/**
 * Registers the project's search attributes that a running server lacks (start-dev registers
 * them only when it starts, so a server started before an attribute was added misses it).
 */
async function registerSearchAttributes(port: number): Promise<void> {
  const temporal = requireTool('temporal', 'TEMPORAL_CLI_PATH');
  const address = ['--address', `127.0.0.1:${port}`, '--namespace', 'default'];
  const { stdout } = await run(temporal, ['operator', 'search-attribute', 'list', ...address, '-o', 'json'], {
    timeout: 10_000,
  });
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_DECLARATIONS)) {
    if (stdout.includes(`"${name}"`)) continue;
    await run(
      temporal,
      ['operator', 'search-attribute', 'create', ...address, '--name', name, '--type', type],
      { timeout: 10_000 },
    ).catch((err: { stderr?: string }) => {
      // Another process registering at the same moment is fine.
      if (!/already exists/i.test(err.stderr ?? '')) throw err;
    });
  }
}

/**
 * How long Temporal keeps a closed workflow: at least as long as WalletService honours an
 * idempotency key (WALLET_IDEMPOTENCY_RETENTION_DAYS, 30). Within it a reused Idempotency-Key
 * finds the closed transfer and answers its result; a shorter retention (the dev server's 24 h)
 * would run the transfer again against the wallet's stored answers (issue 11, item 1).
 */
export const NAMESPACE_RETENTION = '720h';

/** Sets the namespace's retention (idempotent; start-dev has no flag for it). */
async function setRetention(port: number): Promise<void> {
  await run(
    requireTool('temporal', 'TEMPORAL_CLI_PATH'),
    [
      'operator',
      'namespace',
      'update',
      '--address',
      `127.0.0.1:${port}`,
      '--retention',
      NAMESPACE_RETENTION,
      '--namespace',
      'default',
    ],
    { timeout: 10_000 },
  );
}

/**
 * Starts `temporal server start-dev` (gRPC, Web UI, SQLite file under the stack folder) with
 * the project's search attributes and dynamic config, unless one already answers on the port.
 * Returns true when this call started it.
 */
export async function ensureTemporal(
  dir: string,
  ports: { temporal: number; temporalUi: number; codec: number },
): Promise<boolean> {
  if (runningPid(dir, 'temporal') !== undefined || (await temporalHealthy(ports.temporal))) {
    await waitFor('Temporal', () => temporalHealthy(ports.temporal), 60_000);
    await registerSearchAttributes(ports.temporal);
    await setRetention(ports.temporal);
    return false;
  }
  mkdirSync(dir, { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(ports.temporal),
    '--ui-port',
    String(ports.temporalUi),
    // The UI decodes payloads through the worker's codec server (docs/runbook.md, "Reading payloads").
    '--ui-codec-endpoint',
    `http://127.0.0.1:${ports.codec}`,
    '--http-port',
    String(ports.temporal + 10),
    '--metrics-port',
    String(ports.temporal + 11),
    '--db-filename',
    path.join(dir, 'temporal.db'),
    '--namespace',
    'default',
    '--log-level',
    'warn',
    // WAL with synchronous=NORMAL: survives a crash of the server process (what the chaos tests
    // do); only an OS crash can lose the last commits. The default (rollback journal, FULL)
    // fsyncs several times per workflow task and made the dev server I/O-bound on this machine.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    ...Object.entries(SEARCH_ATTRIBUTE_DECLARATIONS).flatMap(([name, type]) => [
      '--search-attribute',
      `${name}=${type}`,
    ]),
    ...dynamicConfigFlags(),
  ];
  startProcess(dir, 'temporal', requireTool('temporal', 'TEMPORAL_CLI_PATH'), args, {}, ROOT);
  await waitFor(
    'Temporal dev server',
    () => temporalHealthy(ports.temporal),
    120_000,
    path.join(dir, 'logs', 'temporal.log'),
    () => (runningPid(dir, 'temporal') === undefined ? 'the server exited' : undefined),
  );
  await setRetention(ports.temporal);
  return true;
}
