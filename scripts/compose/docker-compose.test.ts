import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { authConfigSchema, loadAuthConfig } from '../../auth/config.js';
import { gatewayConfigSchema, loadGatewayConfig } from '../../gateway/config.js';
import { loadWalletConfig, walletConfigSchema } from '../../wallet/config.js';
import { loadWorkerConfig, workerConfigSchema } from '../../workers/config.js';
import { ROOT } from '../stack/paths.js';
import { PROFILES } from '../stack/profile.js';
import { envExampleDefaults, stackEnv } from '../stack/services.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, unknown>;
}

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/** The four Velora processes: compose name, config loader, and the variable holding its port. */
const APPS = [
  { name: 'auth', load: loadAuthConfig, portVar: 'AUTH_PORT', entry: 'dist/auth/main.js' },
  { name: 'wallet', load: loadWalletConfig, portVar: 'WALLET_PORT', entry: 'dist/wallet/main.js' },
  { name: 'worker', load: loadWorkerConfig, portVar: 'WORKER_HEALTH_PORT', entry: 'dist/workers/main.js' },
  { name: 'gateway', load: loadGatewayConfig, portVar: 'GATEWAY_PORT', entry: 'dist/gateway/main.js' },
] as const;

function envOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

describe('docker-compose.yml', () => {
  it('runs the infrastructure from official images', () => {
    const images = Object.fromEntries(
      Object.entries(compose.services).map(([name, s]) => [name, s.image ?? '(build)']),
    );
    expect(images.postgres).toMatch(/^postgres:/);
    expect(images.redis).toMatch(/^redis:/);
    expect(images.mongo).toMatch(/^mongo:/);
    expect(images.temporal).toMatch(/^temporalio\//);
    expect(images['temporal-ui']).toMatch(/^temporalio\/ui:/);
    expect(images['temporal-admin-tools']).toMatch(/^temporalio\/admin-tools:/);
  });

  it.each(APPS)(
    '$name: built from the Dockerfile, configured validly, port and health check agree',
    (app) => {
      const service = compose.services[app.name];
      expect(service, `service ${app.name}`).toBeDefined();
      expect(service!.build).toBeDefined();
      expect(service!.command).toEqual(['node', app.entry]);
      const env = envOf(service!);
      // The service's own zod schema accepts the compose environment (required variables present and valid).
      expect(() => app.load(env)).not.toThrow();
      const port = env[app.portVar];
      expect(port, `${app.portVar} set`).toBeDefined();
      expect(service!.ports).toContain(`${port}:${port}`);
      expect(service!.healthcheck?.test.join(' ')).toContain(`:${port}/readyz`);
    },
  );

  it('uses only variables documented in .env.example (the same names as the local stack)', () => {
    const documented = new Set(Object.keys(envExampleDefaults()));
    for (const app of APPS) {
      const unknown = Object.keys(envOf(compose.services[app.name]!)).filter((k) => !documented.has(k));
      expect(unknown, `${app.name} variables missing from .env.example`).toEqual([]);
    }
  });
});

describe('.env.example and the local stack', () => {
  it('documents every variable the services read', () => {
    const documented = new Set(Object.keys(envExampleDefaults()));
    const read = [authConfigSchema, walletConfigSchema, workerConfigSchema, gatewayConfigSchema].flatMap(
      (s) => Object.keys(s.shape),
    );
    expect(read.filter((k) => !documented.has(k))).toEqual([]);
  });

  it.each(APPS)('$name accepts the environment the local stack gives it', (app) => {
    for (const profile of Object.values(PROFILES)) {
      expect(() => app.load(stackEnv(profile, 'mongodb://127.0.0.1:27017/'))).not.toThrow();
    }
  });
});
