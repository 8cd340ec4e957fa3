import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../auth/config.js';
import { loadGatewayConfig } from '../gateway/config.js';
import { loadWalletConfig } from '../wallet/config.js';
import { loadWorkerConfig } from '../workers/config.js';
import { ConfigError, parseEnvFile } from './config.js';

const devDefaults = parseEnvFile(readFileSync(new URL('../.env.example', import.meta.url), 'utf8'));
const fresh = (bytes = 32) => randomBytes(bytes).toString('base64');
/** What the gateway and the worker need for Temporal in production: mTLS certificate paths, payload keys. */
const temporalClient = () => ({
  TEMPORAL_TLS_CERT_PATH: '/certs/client.pem',
  TEMPORAL_TLS_KEY_PATH: '/certs/client.key',
  PAYLOAD_CODEC_KEYS: `k1:${fresh()}`,
});

/**
 * Each service with an environment that may run in production (fresh secrets, real URLs), and
 * the variables production treats specially: secrets (`required` false = may be absent).
 */
interface ServiceCase {
  name: string;
  load: (env: Record<string, string | undefined>) => unknown;
  env: Record<string, string>;
  secrets: { name: string; required: boolean }[];
  requiredSettings: string[];
}

const SERVICES: ServiceCase[] = [
  {
    name: 'auth',
    load: loadAuthConfig,
    env: {
      AUTH_DATABASE_URL: 'postgres://velora_auth:pw@postgres:5432/velora_auth',
      REDIS_URL: 'redis://:pw@redis:6379/0',
      AUTH_KEY_ENCRYPTION_KEY: fresh(),
      OTP_PEPPER: fresh(),
      OTP_DELIVERY: 'smtp',
      VELORA_ADMIN_PASSWORD: fresh(),
      ORCHESTRATOR_CLIENT_SECRET: fresh(),
      GATEWAY_CLIENT_SECRET: fresh(),
    },
    secrets: [
      { name: 'AUTH_KEY_ENCRYPTION_KEY', required: true },
      { name: 'OTP_PEPPER', required: true },
      { name: 'ORCHESTRATOR_CLIENT_SECRET', required: true },
      { name: 'GATEWAY_CLIENT_SECRET', required: true },
      { name: 'VELORA_ADMIN_PASSWORD', required: false },
    ],
    requiredSettings: ['OTP_DELIVERY'],
  },
  {
    name: 'wallet',
    load: loadWalletConfig,
    env: {
      WALLET_DATABASE_URL: 'postgres://velora_wallet_service:pw@postgres:5432/velora_wallet',
      WALLET_MIGRATION_DATABASE_URL: 'postgres://velora_wallet:pw@postgres:5432/velora_wallet',
      MONGO_URL: 'mongodb://velora:pw@mongo:27017/',
    },
    secrets: [],
    requiredSettings: ['WALLET_DATABASE_URL', 'WALLET_MIGRATION_DATABASE_URL', 'MONGO_URL'],
  },
  {
    name: 'gateway',
    load: loadGatewayConfig,
    env: { GATEWAY_CLIENT_SECRET: fresh(), WORKFLOW_INPUT_KEY: fresh(), ...temporalClient() },
    secrets: [
      { name: 'GATEWAY_CLIENT_SECRET', required: true },
      { name: 'PAYLOAD_CODEC_KEYS', required: true },
    ],
    requiredSettings: ['TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_KEY_PATH'],
  },
  {
    name: 'worker',
    load: loadWorkerConfig,
    env: {
      ORCHESTRATOR_CLIENT_SECRET: fresh(),
      WORKFLOW_INPUT_KEY: fresh(),
      CODEC_SERVER_OPERATOR_TOKEN: fresh(),
      ...temporalClient(),
    },
    secrets: [
      { name: 'ORCHESTRATOR_CLIENT_SECRET', required: true },
      { name: 'PAYLOAD_CODEC_KEYS', required: true },
      { name: 'CODEC_SERVER_OPERATOR_TOKEN', required: false },
    ],
    requiredSettings: ['TEMPORAL_TLS_CERT_PATH', 'TEMPORAL_TLS_KEY_PATH'],
  },
];

function refusal(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe.each(SERVICES)('$name with NODE_ENV=production', (service) => {
  const production = { ...service.env, NODE_ENV: 'production' };

  it('starts with fresh secrets and real addresses', () => {
    expect(() => service.load(production)).not.toThrow();
  });

  it('refuses OTP_DELIVERY=dev in one line naming the variable', () => {
    const message = refusal(() => service.load({ ...production, OTP_DELIVERY: 'dev' }));
    expect(message).toBe(
      `${service.name === 'worker' ? 'orchestrator-worker' : service.name}: refusing to start with NODE_ENV=production: OTP_DELIVERY=dev is for the local stack only`,
    );
  });

  it('refuses OTP_DELIVERY=log (no code would reach anyone) in one line naming the variable', () => {
    const message = refusal(() => service.load({ ...production, OTP_DELIVERY: 'log' }));
    expect(message).toMatch(
      /refusing to start with NODE_ENV=production: OTP_DELIVERY=log is for the local stack only$/,
    );
  });

  it('refuses SMTP_TLS=none (codes in the clear) in one line naming the variable', () => {
    const message = refusal(() => service.load({ ...production, SMTP_TLS: 'none' }));
    expect(message).toMatch(
      /refusing to start with NODE_ENV=production: SMTP_TLS=none is for the local stack only$/,
    );
  });

  it.each(service.secrets)('refuses $name equal to its .env.example dev default', ({ name }) => {
    expect(devDefaults[name], `${name} documented`).toBeTruthy();
    const message = refusal(() => service.load({ ...production, [name]: devDefaults[name] }));
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(
      new RegExp(`refusing to start with NODE_ENV=production: ${name} equals a dev default`),
    );
  });

  it.each(service.secrets)('refuses $name reusing another dev secret', ({ name }) => {
    const message = refusal(() => service.load({ ...production, [name]: devDefaults.OTP_PEPPER }));
    expect(message).toMatch(new RegExp(`${name} equals a dev default`));
  });

  it.each(service.secrets.filter((s) => s.required))('refuses a missing $name', ({ name }) => {
    const message = refusal(() => service.load({ ...production, [name]: undefined }));
    expect(message).toMatch(new RegExp(`refusing to start with NODE_ENV=production: ${name} is required$`));
  });

  it.each(service.requiredSettings)('refuses %s left to its local default', (name) => {
    const message = refusal(() => service.load({ ...production, [name]: undefined }));
    expect(message).toMatch(new RegExp(`${name} is required$`));
  });

  it('accepts the dev defaults outside production (the local stack)', () => {
    const dev = { ...production, NODE_ENV: 'development', OTP_DELIVERY: 'dev' };
    for (const { name } of service.secrets) Object.assign(dev, { [name]: devDefaults[name] });
    expect(() => service.load(dev)).not.toThrow();
  });
});
