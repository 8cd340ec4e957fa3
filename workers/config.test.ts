import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../lib/config.js';
import { TASK_QUEUE } from '../temporal-config/index.js';
import { loadWorkerConfig } from './config.js';

const SECRET = 'dev-orchestrator-secret-0123456789abcdef';
const KEY = randomBytes(32).toString('base64');
const BASE = { ORCHESTRATOR_CLIENT_SECRET: SECRET, WORKFLOW_INPUT_KEY: KEY };

describe('worker configuration', () => {
  it('uses the local-stack defaults', () => {
    const config = loadWorkerConfig(BASE);
    expect(config).toMatchObject({
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      WORKER_HEALTH_PORT: 8083,
      TRANSFER_STEP_UP_THRESHOLD: 100_000n,
      HOLD_EXPIRY_SCHEDULE: true,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the missing secret and a malformed threshold', () => {
    expect(() => loadWorkerConfig({})).toThrow(ConfigError);
    expect(() => loadWorkerConfig({})).toThrow(/ORCHESTRATOR_CLIENT_SECRET/);
    expect(() => loadWorkerConfig({ ...BASE, TRANSFER_STEP_UP_THRESHOLD: '10.5' })).toThrow(
      /TRANSFER_STEP_UP_THRESHOLD/,
    );
  });

  it('requires a workflow input key of at least 32 bytes', () => {
    expect(() => loadWorkerConfig({ ORCHESTRATOR_CLIENT_SECRET: SECRET })).toThrow(/WORKFLOW_INPUT_KEY/);
    // Long enough as text, but only 15 bytes once decoded.
    const short = 'A'.repeat(20) + '!'.repeat(24);
    expect(() => loadWorkerConfig({ ...BASE, WORKFLOW_INPUT_KEY: short })).toThrow(/WORKFLOW_INPUT_KEY/);
    expect(loadWorkerConfig(BASE).WORKFLOW_INPUT_KEY).toBe(KEY);
  });
});
