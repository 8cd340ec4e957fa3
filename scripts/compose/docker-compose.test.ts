import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { authConfigSchema, loadAuthConfig } from '../../auth/config.js';
import { gatewayConfigSchema, loadGatewayConfig } from '../../gateway/config.js';
import { parseEnvFile } from '../../lib/config.js';
import { loadPayoutSimConfig, payoutSimConfigSchema } from '../../payout-sim/config.js';
import { loadWalletConfig, walletConfigSchema } from '../../wallet/config.js';
import { loadWorkerConfig, workerConfigSchema } from '../../workers/config.js';
import { ROOT } from '../stack/paths.js';
import { PROFILES } from '../stack/profile.js';
import { envExampleDefaults, stackEnv } from '../stack/services.js';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  networks?: string[] | Record<string, { ipv4_address?: string }>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, unknown>;
}

const composeText = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, ComposeService>;
  networks: Record<string, { ipam?: { config?: { subnet: string }[] } }>;
};

/**
 * The Velora processes (the four services and the payout provider simulator): compose name,
 * config schema and loader, and the variable holding its port.
 */
const APPS = [
  {
    name: 'auth',
    schema: authConfigSchema,
    load: loadAuthConfig,
    portVar: 'AUTH_PORT',
    entry: 'dist/auth/main.js',
  },
  {
    name: 'wallet',
    schema: walletConfigSchema,
    load: loadWalletConfig,
    portVar: 'WALLET_PORT',
    entry: 'dist/wallet/main.js',
  },
  {
    name: 'payout-sim',
    schema: payoutSimConfigSchema,
    load: loadPayoutSimConfig,
    portVar: 'PAYOUT_SIM_PORT',
    entry: 'dist/payout-sim/main.js',
  },
  {
    name: 'worker',
    schema: workerConfigSchema,
    load: loadWorkerConfig,
    portVar: 'WORKER_HEALTH_PORT',
    entry: 'dist/workers/main.js',
  },
  {
    name: 'gateway',
    schema: gatewayConfigSchema,
    load: loadGatewayConfig,
    portVar: 'GATEWAY_PORT',
    entry: 'dist/gateway/main.js',
  },
] as const;

const DATASTORES = ['postgres', 'redis', 'mongo'] as const;

/**
 * Compose's variable substitution (`${VAR}`, `${VAR:-default}`, `${VAR:?message}`, `$$`) with
 * `vars` as the operator's environment; a missing required variable throws like compose does.
 */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g,
    (match, name?: string, op?: string, arg?: string) => {
      if (match === '$$') return '$';
      const v = vars[name!];
      if (v !== undefined && v !== '') return v;
      if (op === '?') throw new Error(`required variable ${name} is missing: ${arg}`);
      return op === '-' ? (arg ?? '') : '';
    },
  );
}

function rawEnv(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** A service's environment as a container sees it, with the image's NODE_ENV=production. */
function containerEnv(service: ComposeService, vars: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'production',
    ...Object.fromEntries(Object.entries(rawEnv(service)).map(([k, v]) => [k, interpolate(v, vars)])),
  };
}

/** `[host ip, host port, container port]` of a compose `ports` entry (no ip: every interface). */
function published(entry: string): { hostIp: string; hostPort: string; containerPort: string } {
  const parts = entry.split(':');
  return parts.length === 3
    ? { hostIp: parts[0]!, hostPort: parts[1]!, containerPort: parts[2]! }
    : { hostIp: '0.0.0.0', hostPort: parts[0]!, containerPort: parts[1]! };
}

let operatorEnv: Record<string, string>;
let certsDir: string;

beforeAll(() => {
  // What an operator does before `docker compose up`: an env file with fresh secrets and the certificates.
  const dir = mkdtempSync(path.join(tmpdir(), 'velora-compose-'));
  execFileSync('sh', [path.join(ROOT, 'scripts/compose/generate-env.sh'), path.join(dir, '.env')]);
  operatorEnv = parseEnvFile(readFileSync(path.join(dir, '.env'), 'utf8'));
  certsDir = path.join(dir, 'certs');
  execFileSync('sh', [path.join(ROOT, 'scripts/compose/generate-temporal-certs.sh'), certsDir]);
});

describe('docker-compose.yml', () => {
  it('runs the infrastructure from official images', () => {
    const images = Object.fromEntries(
      Object.entries(compose.services).map(([name, s]) => [name, s.image ?? '(build)']),
    );
    expect(images.postgres).toMatch(/^postgres:/);
    expect(images.redis).toMatch(/^redis:/);
    expect(images.mongo).toMatch(/^mongo:/);
    // The server image with admin-tools setup jobs, not the deprecated auto-setup (issue 15).
    expect(images.temporal).toMatch(/^temporalio\/server:/);
    expect(images['temporal-ui']).toMatch(/^temporalio\/ui:/);
    for (const job of ['temporal-schema', 'temporal-setup', 'temporal-admin-tools']) {
      expect(images[job]).toMatch(/^temporalio\/admin-tools:/);
    }
  });

  it('sets Temporal up in jobs the server, the worker and the gateway wait for', () => {
    const waitsFor = (name: string, job: string) =>
      (compose.services[name]!.depends_on?.[job] as { condition?: string } | undefined)?.condition;
    expect(waitsFor('temporal', 'temporal-schema')).toBe('service_completed_successfully');
    for (const name of ['worker', 'gateway']) {
      expect(waitsFor(name, 'temporal-setup')).toBe('service_completed_successfully');
    }
    // The job registers the search attributes of temporal-config/index.ts (deploy-check.test.ts
    // compares the lists) with retries, and creates the namespace with its retention.
    const setup = compose.services['temporal-setup']!;
    expect(setup.volumes?.join(' ')).toContain('./deploy/k8s/base/search-attributes.sh:');
    expect(setup.entrypoint).toEqual(['sh', '/search-attributes.sh', 'register']);
    expect(rawEnv(setup).TEMPORAL_NAMESPACE_RETENTION).toBe('720h');
    expect(readFileSync(path.join(ROOT, 'scripts/compose/temporal-schema.sh'), 'utf8')).toContain(
      'update-schema',
    );
  });

  it('keeps what must survive a restart: named volumes, Redis with AOF, PostgreSQL checked over TCP', () => {
    expect(compose.services.redis!.command?.join(' ')).toContain('appendonly yes');
    expect(compose.services.redis!.volumes).toContain('redis-data:/data');
    expect(compose.services.mongo!.volumes).toContain('mongo-data:/data/db');
    expect(compose.services.postgres!.healthcheck?.test.join(' ')).toMatch(/pg_isready -h /);
  });

  it("gives AUTH_ISSUER the public URL the gateway is reached on, not a container's name", () => {
    // Every app that checks tokens (payout-sim checks only its API key).
    for (const app of APPS.filter((a) => 'AUTH_ISSUER' in a.schema.shape)) {
      const issuer = containerEnv(compose.services[app.name]!, operatorEnv).AUTH_ISSUER;
      expect(issuer, app.name).toBe('http://localhost:8080');
      expect(
        containerEnv(compose.services[app.name]!, {
          ...operatorEnv,
          VELORA_PUBLIC_URL: 'https://pay.example',
        }).AUTH_ISSUER,
      ).toBe('https://pay.example');
    }
  });

  it('publishes only the gateway on every interface; the Web UI and the codec server on 127.0.0.1 only', () => {
    const exposed: Record<string, string[]> = {};
    for (const [name, service] of Object.entries(compose.services)) {
      for (const entry of service.ports ?? []) (exposed[name] ??= []).push(entry);
    }
    expect(Object.keys(exposed).sort()).toEqual([
      'gateway',
      'grafana',
      'jaeger',
      'mailpit',
      'temporal-ui',
      'worker',
    ]);
    expect(exposed.jaeger!.map(published)).toEqual([
      { hostIp: '127.0.0.1', hostPort: '16686', containerPort: '16686' },
    ]);
    expect(exposed.mailpit!.map(published)).toEqual([
      { hostIp: '127.0.0.1', hostPort: '8025', containerPort: '8025' },
    ]);
    expect(exposed.gateway!.map(published)).toEqual([
      { hostIp: '0.0.0.0', hostPort: '8080', containerPort: '8080' },
    ]);
    expect(exposed['temporal-ui']!.map(published)).toEqual([
      { hostIp: '127.0.0.1', hostPort: '8233', containerPort: '8080' },
    ]);
    expect(exposed.grafana!.map(published)).toEqual([
      { hostIp: '127.0.0.1', hostPort: '3000', containerPort: '3000' },
    ]);
    // The worker's only published port is the codec server's, on loopback.
    const codecPort = rawEnv(compose.services.worker!).CODEC_SERVER_PORT;
    expect(exposed.worker!.map(published)).toEqual([
      { hostIp: '127.0.0.1', hostPort: codecPort, containerPort: codecPort },
    ]);
    for (const name of [
      ...DATASTORES,
      'temporal',
      'auth',
      'wallet',
      'payout-sim',
      'prometheus',
      'otel-collector',
    ]) {
      expect(compose.services[name]!.ports, `${name} must stay on the compose network`).toBeUndefined();
    }
  });

  it('ships no OTP_DELIVERY=dev and no secret from .env.example', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(rawEnv(service).OTP_DELIVERY, name).not.toBe('dev');
    }
    const devSecrets = Object.entries(envExampleDefaults())
      .filter(
        ([name, value]) => /(SECRET|PASSWORD|PEPPER|TOKEN|_KEY|_KEYS)$/.test(name) && value.length >= 12,
      )
      .map(([, value]) => value);
    expect(devSecrets.length).toBeGreaterThanOrEqual(6);
    for (const value of devSecrets) expect(composeText).not.toContain(value);
    for (const value of devSecrets.flatMap((v) => v.split(/[,:]/)).filter((v) => v.length >= 16)) {
      expect(composeText).not.toContain(value);
    }
  });

  it('takes every secret from the operator environment, required (compose refuses to start without it)', () => {
    const secretNames = /(SECRET|PASSWORD|PEPPER|TOKEN|_KEY|_KEYS|_PWD)$/;
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(rawEnv(service))) {
        if (!secretNames.test(key) || key.startsWith('TEMPORAL_TLS') || key.startsWith('TEMPORAL_CLI_TLS'))
          continue;
        expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z0-9_]+:\?[^}]+\}$/);
      }
    }
    // Leaving one out is an error naming it, not a silent default.
    const { GATEWAY_CLIENT_SECRET: _omitted, ...incomplete } = operatorEnv;
    expect(() => containerEnv(compose.services.gateway!, incomplete)).toThrow(/GATEWAY_CLIENT_SECRET/);
  });

  it('requires a password for every datastore, and the services log in with one', () => {
    const pg = rawEnv(compose.services.postgres!);
    expect(pg.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(pg.POSTGRES_HOST_AUTH_METHOD).toBeUndefined();
    expect(compose.services.postgres!.volumes?.join(' ')).toContain('init-databases.sh');
    expect(readFileSync(path.join(ROOT, 'scripts/compose/init-databases.sh'), 'utf8')).toMatch(
      /velora_auth LOGIN PASSWORD :'auth_pw'/,
    );
    const redis = compose.services.redis!;
    expect(rawEnv(redis).REDIS_PASSWORD).toMatch(/^\$\{REDIS_PASSWORD:\?/);
    expect(redis.command?.join(' ')).toContain('requirepass');
    expect(rawEnv(compose.services.mongo!).MONGO_INITDB_ROOT_PASSWORD).toMatch(/^\$\{MONGO_PASSWORD:\?/);
    expect(rawEnv(compose.services.temporal!).POSTGRES_PWD).toMatch(/^\$\{TEMPORAL_DB_PASSWORD:\?/);

    const auth = containerEnv(compose.services.auth!, operatorEnv);
    const wallet = containerEnv(compose.services.wallet!, operatorEnv);
    expect(new URL(auth.AUTH_DATABASE_URL!).password).toBe(operatorEnv.AUTH_DB_PASSWORD);
    expect(new URL(auth.REDIS_URL!).password).toBe(operatorEnv.REDIS_PASSWORD);
    // WalletService serves as its service role and migrates as the owner (migration 0043).
    expect(new URL(wallet.WALLET_DATABASE_URL!)).toMatchObject({
      username: 'velora_wallet_service',
      password: operatorEnv.WALLET_SERVICE_DB_PASSWORD,
    });
    expect(new URL(wallet.WALLET_MIGRATION_DATABASE_URL!)).toMatchObject({
      username: 'velora_wallet',
      password: operatorEnv.WALLET_DB_PASSWORD,
    });
    expect(readFileSync(path.join(ROOT, 'scripts/compose/init-databases.sh'), 'utf8')).toMatch(
      /velora_wallet_service LOGIN PASSWORD :'wallet_service_pw'/,
    );
    expect(new URL(wallet.MONGO_URL!).password).toBe(operatorEnv.MONGO_PASSWORD);
  });

  it("trusts X-Forwarded-For only from the gateway's fixed address on the compose network", () => {
    const subnet = compose.networks.velora?.ipam?.config?.[0]?.subnet;
    expect(subnet).toBe('172.30.57.0/24');
    const gatewayNetworks = compose.services.gateway!.networks as Record<string, { ipv4_address?: string }>;
    const gatewayIp = gatewayNetworks.velora?.ipv4_address;
    expect(gatewayIp).toMatch(/^172\.30\.57\.\d+$/);
    expect(rawEnv(compose.services.auth!).AUTH_TRUSTED_PROXIES).toBe(gatewayIp);
    expect(loadAuthConfig(containerEnv(compose.services.auth!, operatorEnv)).AUTH_TRUSTED_PROXIES).toEqual([
      gatewayIp,
    ]);
  });

  it('runs Temporal with mutual TLS, and the gateway and the worker present their own certificates', () => {
    const temporal = rawEnv(compose.services.temporal!);
    expect(temporal.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH).toBe('true');
    expect(temporal.TEMPORAL_TLS_FRONTEND_CERT).toBe('/certs/temporal.pem');
    expect(temporal.TEMPORAL_TLS_CLIENT1_CA_CERT).toBe('/certs/ca.pem');
    // The setup job and the operators' container present the admin certificate.
    for (const name of ['temporal-setup', 'temporal-admin-tools']) {
      expect(rawEnv(compose.services[name]!).TEMPORAL_TLS_CERT_PATH).toBe('/certs/admin.pem');
    }
    for (const name of ['gateway', 'worker'] as const) {
      const env = containerEnv(compose.services[name]!, { ...operatorEnv, TEMPORAL_CERTS_DIR: certsDir });
      expect(env.TEMPORAL_TLS_CERT_PATH).toBe(`/certs/${name}.pem`);
      expect(env.TEMPORAL_TLS_KEY_PATH).toBe(`/certs/${name}.key`);
      expect(env.TEMPORAL_TLS_CA_PATH).toBe('/certs/ca.pem');
      expect(compose.services[name]!.volumes?.some((v) => v.endsWith(':/certs:ro'))).toBe(true);
      // The certificate the script issued for it chains to the CA the frontend trusts.
      const verified = execFileSync('openssl', [
        'verify',
        '-CAfile',
        path.join(certsDir, 'ca.pem'),
        path.join(certsDir, `${name}.pem`),
      ]).toString();
      expect(verified).toContain(': OK');
    }
    const ui = rawEnv(compose.services['temporal-ui']!);
    expect(ui.TEMPORAL_TLS_CERT).toBe('/certs/ui.pem');
    expect(ui.TEMPORAL_CODEC_ENDPOINT).toBe(
      `http://127.0.0.1:${rawEnv(compose.services.worker!).CODEC_SERVER_PORT}`,
    );
  });

  it('pays withdrawals through payout-sim: the worker calls it with its API key, it signs results for the gateway', () => {
    const sim = containerEnv(compose.services['payout-sim']!, operatorEnv);
    const worker = containerEnv(compose.services.worker!, operatorEnv);
    const gateway = containerEnv(compose.services.gateway!, operatorEnv);
    const simConfig = loadPayoutSimConfig(sim);
    const workerConfig = loadWorkerConfig(worker);
    const gatewayConfig = loadGatewayConfig(gateway);
    expect(new URL(workerConfig.PAYOUT_PROVIDER_URL)).toMatchObject({
      hostname: 'payout-sim',
      port: String(simConfig.PAYOUT_SIM_PORT),
    });
    expect(workerConfig.PAYOUT_PROVIDER_API_KEY).toBe(operatorEnv.PAYOUT_PROVIDER_API_KEY);
    expect(simConfig.PAYOUT_PROVIDER_API_KEY).toBe(operatorEnv.PAYOUT_PROVIDER_API_KEY);
    // Results go to the gateway's webhook on the compose network, signed with the key it checks.
    expect(new URL(simConfig.PAYOUT_SIM_WEBHOOK_URL)).toMatchObject({
      hostname: 'gateway',
      port: String(gatewayConfig.GATEWAY_PORT),
      pathname: '/v1/webhooks/payouts',
    });
    expect(gatewayConfig.PAYOUT_WEBHOOK_SECRET).toBe(operatorEnv.PAYOUT_WEBHOOK_SECRET);
    expect(simConfig.PAYOUT_WEBHOOK_SECRET).toBe(operatorEnv.PAYOUT_WEBHOOK_SECRET);
    // Its payouts survive a restart: the state file sits on a named volume.
    const stateDir = path.posix.dirname(simConfig.PAYOUT_SIM_STATE_FILE!);
    expect(compose.services['payout-sim']!.volumes).toContain(`payout-sim-data:${stateDir}`);
    expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(
      new RegExp(`^RUN mkdir -p ${stateDir} && chown 10001:10001 ${stateDir}$`, 'm'),
    );
  });

  it('gives the gateway and the worker the same payload keys', () => {
    const gateway = containerEnv(compose.services.gateway!, operatorEnv);
    const worker = containerEnv(compose.services.worker!, operatorEnv);
    expect(gateway.PAYLOAD_CODEC_KEYS).toBe(operatorEnv.PAYLOAD_CODEC_KEYS);
    expect(worker.PAYLOAD_CODEC_KEYS).toBe(operatorEnv.PAYLOAD_CODEC_KEYS);
  });

  it.each(APPS)(
    '$name: runs the one image built from the Dockerfile, starts in production with the operator env, health check on its port',
    (app) => {
      const service = compose.services[app.name];
      expect(service, `service ${app.name}`).toBeDefined();
      const builders = Object.values(compose.services).filter((s) => s.build !== undefined);
      expect(builders).toHaveLength(1);
      expect(service!.image).toBe(builders[0]!.image);
      expect(service!.command).toEqual(['node', app.entry]);
      // The image is built with the app's sources.
      const folder = app.entry.split('/')[1]!;
      expect(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(
        new RegExp(`^COPY ${folder} ${folder}$`, 'm'),
      );
      const env = containerEnv(service!, operatorEnv);
      // The service's own schema, with NODE_ENV=production's refusals, accepts the compose environment.
      expect(() => app.load(env)).not.toThrow();
      // … and refuses it with a dev secret in place of the operator's.
      const devDefaults = envExampleDefaults();
      const devEnv = Object.fromEntries(
        Object.keys(operatorEnv).map((k) => [k, devDefaults[k] ?? operatorEnv[k]!]),
      );
      const secretsInService = Object.keys(rawEnv(service!)).filter(
        (k) => devDefaults[k] && k in operatorEnv,
      );
      if (secretsInService.length > 0) {
        expect(() => app.load(containerEnv(service!, devEnv))).toThrow(
          /refusing to start with NODE_ENV=production/,
        );
      }
      const port = env[app.portVar];
      expect(port, `${app.portVar} set`).toBeDefined();
      expect(service!.healthcheck?.test.join(' ')).toContain(`:${port}/readyz`);
    },
  );

  it('is built into an image that runs with NODE_ENV=production and ships .env.example', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENV NODE_ENV=production$/m);
    expect(dockerfile).toMatch(/^COPY \.env\.example \.env\.example$/m);
    // A pinned release of Node 24 (the LTS; Node 20 is out of support), which engines admits.
    const bases = [...dockerfile.matchAll(/^FROM node:(\S+)/gm)].map((m) => m[1]);
    expect(bases.length).toBeGreaterThan(0);
    for (const tag of bases) expect(tag).toMatch(/^24\.\d+\.\d+-bookworm-slim$/);
    const engines = (
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node;
    expect(engines).toMatch(/>=22/);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/readyz/m);
    expect(dockerfile).toMatch(/^USER 10001/m);
  });

  it('uses only variables documented in .env.example (the same names as the local stack)', () => {
    const documented = new Set(Object.keys(envExampleDefaults()));
    for (const app of APPS) {
      // OTEL_*: the OpenTelemetry SDK's own variables (docs/observability.md), not the services'.
      const unknown = Object.keys(rawEnv(compose.services[app.name]!)).filter(
        (k) => !documented.has(k) && !k.startsWith('OTEL_'),
      );
      expect(unknown, `${app.name} variables missing from .env.example`).toEqual([]);
    }
  });
});

describe('.env.example and the local stack', () => {
  it('documents every variable the services read', () => {
    const documented = new Set(Object.keys(envExampleDefaults()));
    const read = APPS.flatMap((app) => Object.keys(app.schema.shape));
    expect(read.filter((k) => !documented.has(k))).toEqual([]);
  });

  it.each(APPS)('$name accepts the environment the local stack gives it', (app) => {
    for (const profile of Object.values(PROFILES)) {
      expect(() => app.load(stackEnv(profile, 'mongodb://127.0.0.1:27017/'))).not.toThrow();
    }
  });
});
