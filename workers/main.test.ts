/**
 * The worker process as operators run it: `node --import tsx workers/main.ts` starts, reports
 * ready on /readyz once it polls Temporal, exposes /metrics, and exits 0 after draining on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testEnv } from '../test/support/test-env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

describe('workers/main.ts', () => {
  it('starts, becomes ready, serves metrics and drains on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: testEnv('temporalAddress'),
        TEMPORAL_TASK_QUEUE: `main-test-${randomUUID()}`,
        WORKER_HEALTH_PORT: String(port),
        ORCHESTRATOR_CLIENT_SECRET: 'dev-orchestrator-secret-0123456789abcdef',
        WORKFLOW_INPUT_KEY: randomBytes(32).toString('base64'),
        HOLD_EXPIRY_SCHEDULE: 'false',
        // The test stack's worker owns the archive schedule on this shared Temporal, encrypted with
        // the stack's codec key, which this worker does not hold: describing it would fail.
        TRANSFER_ARCHIVE_SCHEDULE: 'false',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    try {
      let ready: Response | undefined;
      for (let i = 0; i < 240 && !ready; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        if (res?.status === 200) ready = res;
        else await new Promise((r) => setTimeout(r, 250));
      }
      expect(ready, output).toBeDefined();
      expect(await ready!.json()).toEqual({ status: 'ready', checks: { temporal: true } });
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(await metrics.text()).toContain('orchestrator_activity_duration_seconds');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, output).toBe(0);
  }, 90_000);
});
