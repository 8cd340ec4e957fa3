import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../auth/config.js';
import { loadGatewayConfig } from '../gateway/config.js';
import { parseEnvFile } from '../lib/config.js';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../temporal-config/index.js';
import { loadWalletConfig } from '../wallet/config.js';
import { loadWorkerConfig } from '../workers/config.js';
import { ensureDatabase } from './stack/infrastructure.js';
import { ROOT } from './stack/paths.js';
import { pgUrl } from './stack/profile.js';
import { requireTool } from './stack/tools.js';

/**
 * tools/deploy-check, the offline validator of deploy/ and docker-compose.yml
 * (docs/kubernetes.md, "What is validated"): built here with GOPROXY=off from the module cache
 * scripts/install-tools.sh filled, so nothing is fetched at validation time; then run on the
 * repository (it must pass), on fixtures and broken copies (it must fail, naming the problem).
 */

const CHECKER = path.join(ROOT, 'tools/deploy-check');
const OVERLAY = path.join(ROOT, 'deploy/k8s/overlays/production');
let dir: string;
let bin: string;
let envFile: string;

function goBinary(): string {
  for (const candidate of [
    ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'go')),
    '/usr/local/go/bin/go',
    '/usr/lib/go/bin/go',
  ]) {
    try {
      accessSync(candidate);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('go is not installed (scripts/install-tools.sh needs it too)');
}

function check(...args: string[]) {
  const run = spawnSync(bin, args, { cwd: ROOT, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A copy of the files the checker reads, for breaking one of them. */
function copyOfRepository(): string {
  const root = mkdtempSync(path.join(dir, 'repo-'));
  cpSync(path.join(ROOT, 'deploy'), path.join(root, 'deploy'), { recursive: true });
  cpSync(path.join(ROOT, 'docker-compose.yml'), path.join(root, 'docker-compose.yml'));
  return root;
}

function edit(file: string, from: string | RegExp, to: string) {
  const text = readFileSync(file, 'utf8');
  const changed = text.replace(from, to);
  expect(changed, `${file} contains ${String(from)}`).not.toBe(text);
  writeFileSync(file, changed);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'velora-deploy-check-'));
  bin = path.join(dir, 'deploy-check');
  execFileSync(goBinary(), ['build', '-o', bin, '.'], {
    cwd: CHECKER,
    env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=readonly -buildvcs=false' },
    stdio: 'pipe',
  });
  envFile = path.join(dir, 'compose.env');
  execFileSync('sh', [path.join(ROOT, 'scripts/compose/generate-env.sh'), envFile]);
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tools/deploy-check on the repository', () => {
  it('passes: overlays strictly decoded, rules and their tests, dashboards, compose, Helm values', () => {
    const run = check('-root', ROOT, '-compose-env', envFile);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/overlays\/production: \d+ objects decode strictly into the Kubernetes 1\.37/);
    expect(run.stdout).toContain('rules.yml: 4 groups, 10 alerts parse and validate');
    expect(run.stdout).toMatch(/rules\.test\.yml: \d+ rule unit tests run/);
    expect(run.stdout).toContain('valid against the Compose Specification');
    expect(run.stdout).toContain('deploy/temporal/values.yaml: every key is one the Temporal chart');
  });
});

describe('tools/deploy-check refuses', () => {
  it('a manifest with an unknown field (fixture)', () => {
    const run = check('-kustomize', path.join(CHECKER, 'testdata/unknown-field'));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolice"',
    );
  });

  it('a manifest with a wrong type (fixture)', () => {
    const run = check('-kustomize', path.join(CHECKER, 'testdata/wrong-type'));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/cannot unmarshal string into .*spec\.replicas of type int32/);
  });

  it('a secret inlined, a pod that may write its root filesystem, a service open to everyone', () => {
    const root = copyOfRepository();
    const base = path.join(root, 'deploy/k8s/base');
    edit(
      path.join(base, 'wallet.yaml'),
      `            - name: MONGO_URL\n              valueFrom: { secretKeyRef: { name: velora-wallet, key: MONGO_URL } }`,
      `            - { name: MONGO_URL, value: 'mongodb://velora:hunter2@mongo:27017/' }`,
    );
    edit(path.join(base, 'hardening.yaml'), 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false');
    // A rule with no `from` in AuthService's policy: its port open to every source.
    const authPolicy =
      'name: auth\nspec:\n  podSelector:\n    matchLabels: { app.kubernetes.io/name: auth }\n';
    edit(
      path.join(base, 'network-policies.yaml'),
      `${authPolicy}  policyTypes: [Ingress]\n  ingress:\n`,
      `${authPolicy}  policyTypes: [Ingress]\n  ingress:\n    - ports:\n        - { protocol: TCP, port: 8081 }\n`,
    );
    const run = check('-kustomize', path.join(root, 'deploy/k8s/overlays/production'));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Deployment wallet container wallet: MONGO_URL must come from a Secret');
    expect(run.stderr).toContain('container auth: root filesystem is writable');
    expect(run.stderr).toContain('NetworkPolicy auth opens Deployment auth to every source');
  });

  it("the wallet's events: a broker URL inlined, an egress that reaches neither the broker nor DNS", () => {
    const root = copyOfRepository();
    const base = path.join(root, 'deploy/k8s/base');
    edit(
      path.join(base, 'wallet.yaml'),
      `            - name: RABBITMQ_URL\n              valueFrom: { secretKeyRef: { name: velora-wallet, key: RABBITMQ_URL } }`,
      `            - { name: RABBITMQ_URL, value: 'amqps://velora:hunter2@rabbitmq:5671/' }`,
    );
    const policies = path.join(base, 'network-policies.yaml');
    // The broker's management port instead of its AMQP ports; DNS over TCP only.
    edit(
      policies,
      '        - { protocol: TCP, port: 5671 }\n        - { protocol: TCP, port: 5672 }\n',
      '        - { protocol: TCP, port: 15672 }\n',
    );
    edit(policies, '        - { protocol: UDP, port: 53 }\n', '');
    const run = check('-kustomize', path.join(root, 'deploy/k8s/overlays/production'));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Deployment wallet container wallet: RABBITMQ_URL must come from a Secret');
    expect(run.stderr).toContain('Deployment wallet: its egress policies allow no DNS (UDP 53)');
    expect(run.stderr).toContain(
      'Deployment wallet: publishes events (RABBITMQ_URL) but its egress policies allow neither amqps 5671 nor amqp 5672',
    );
  });

  it('an alert rule whose unit test no longer holds, and PromQL that does not parse', () => {
    const root = copyOfRepository();
    const rules = path.join(root, 'deploy/prometheus/rules.yml');
    edit(rules, 'expr: max(wallet_outbox_lag_seconds) > 60', 'expr: max(wallet_outbox_lag_seconds) > 600');
    let run = check('-root', root, '-compose-env', envFile);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('alert VeloraOutboxRelayLagging at 15m');
    edit(rules, '> 600', '> > 600');
    run = check('-root', root, '-compose-env', envFile);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/rules\.yml: .*VeloraOutboxRelayLagging|parse error/);
  });

  it('a compose file off the schema, without a restart policy, or missing a required variable', () => {
    const root = copyOfRepository();
    const compose = path.join(root, 'docker-compose.yml');
    edit(
      compose,
      '  mongo:\n    image: mongo:7.0\n    restart: unless-stopped\n',
      '  mongo:\n    image: mongo:7.0\n',
    );
    let run = check('-root', root, '-compose-env', envFile);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('mongo: restart must be unless-stopped');
    edit(
      compose,
      '  redis:\n    image: redis:7.4\n',
      '  redis:\n    image: redis:7.4\n    restarts: always\n',
    );
    run = check('-root', root, '-compose-env', envFile);
    expect(run.stderr).toMatch(/validating .*docker-compose.yml: services\.redis\.restarts/);
    const { GATEWAY_CLIENT_SECRET: _omitted, ...incomplete } = parseEnvFile(readFileSync(envFile, 'utf8'));
    const partial = path.join(dir, 'partial.env');
    writeFileSync(
      partial,
      Object.entries(incomplete)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    run = check('-root', ROOT, '-compose-env', partial);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('GATEWAY_CLIENT_SECRET');
  });

  it('a Temporal Helm value the chart does not have', () => {
    const root = copyOfRepository();
    edit(path.join(root, 'deploy/temporal/values.yaml'), 'replicaCount: 2', 'replicas: 2');
    const run = check('-root', root, '-compose-env', envFile);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('server.replicas is not a value of the Temporal chart');
  });
});

interface Rendered {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    template?: {
      spec: {
        containers: {
          name: string;
          command: string[];
          envFrom?: { configMapRef?: { name: string } }[];
          env?: {
            name: string;
            value?: string;
            valueFrom?: { secretKeyRef?: { name: string; key: string } };
          }[];
        }[];
      };
    };
  };
}

describe('the production overlay, rendered', () => {
  let objects: Rendered[];
  beforeAll(() => {
    objects = JSON.parse(execFileSync(bin, ['-render', OVERLAY], { encoding: 'utf8' })) as Rendered[];
  });

  /** Every Secret key the manifests reference, with a value of the kind the operator stores. */
  function secretValues(): Record<string, string> {
    const operator = parseEnvFile(readFileSync(envFile, 'utf8'));
    return {
      ...operator,
      AUTH_DATABASE_URL: `postgres://velora_auth:${operator.AUTH_DB_PASSWORD}@postgres:5432/velora_auth`,
      WALLET_DATABASE_URL: `postgres://velora_wallet_service:${operator.WALLET_SERVICE_DB_PASSWORD}@postgres:5432/velora_wallet`,
      WALLET_MIGRATION_DATABASE_URL: `postgres://velora_wallet:${operator.WALLET_DB_PASSWORD}@postgres:5432/velora_wallet`,
      REDIS_URL: `redis://:${operator.REDIS_PASSWORD}@redis:6379/0`,
      MONGO_URL: `mongodb://velora:${operator.MONGO_PASSWORD}@mongo:27017/?authSource=admin`,
      RABBITMQ_URL: `amqps://velora:${operator.RABBITMQ_PASSWORD}@rabbitmq.rabbitmq.svc:5671/`,
      SMTP_USER: 'velora',
      SMTP_PASSWORD: randomBytes(16).toString('hex'),
      PAYOUT_WEBHOOK_SECRET: randomBytes(32).toString('hex'),
      PAYOUT_PROVIDER_API_KEY: randomBytes(16).toString('hex'),
    };
  }

  /** A container's environment as Kubernetes gives it: ConfigMaps, literals, Secret references. */
  function containerEnv(deployment: string): Record<string, string> {
    const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === deployment)!;
    const container = d.spec!.template!.spec.containers[0]!;
    const secrets = secretValues();
    const env: Record<string, string> = { NODE_ENV: 'production' };
    for (const from of container.envFrom ?? []) {
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
      expect(cm, `ConfigMap ${from.configMapRef?.name}`).toBeDefined();
      Object.assign(env, cm!.data);
    }
    for (const e of container.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      env[e.name] = ref ? secrets[ref.key]! : e.value!;
      if (ref) expect(secrets[ref.key], `${deployment}: Secret key ${ref.key}`).toBeDefined();
    }
    return env;
  }

  it.each([
    ['auth', loadAuthConfig],
    ['wallet', loadWalletConfig],
    ['worker', loadWorkerConfig],
    ['gateway', loadGatewayConfig],
  ] as const)('%s: its own config schema accepts the environment in production', (name, load) => {
    const config = load(containerEnv(name)) as Record<string, unknown>;
    expect(config.AUTH_ISSUER ?? 'https://api.velora.example').toBe('https://api.velora.example');
  });

  it('gives every service the same issuer, the public URL, and the worker/gateway mutual TLS to Temporal', () => {
    for (const name of ['worker', 'gateway']) {
      const env = containerEnv(name);
      expect(env.TEMPORAL_ADDRESS).toBe('temporal-frontend.temporal.svc:7233');
      expect(env.TEMPORAL_TLS_CERT_PATH).toBe('/certs/tls.crt');
    }
    expect(containerEnv('auth').AUTH_TRUSTED_PROXIES).toBe('10.244.0.0/16');
    // Events are on: WalletService publishes to the broker of its Secret.
    expect(containerEnv('wallet').RABBITMQ_URL).toMatch(/^amqps:\/\/velora:[0-9a-f]+@/);
  });

  it("runs the migration Job's own script: it migrates fresh velora_auth and velora_wallet databases", async () => {
    const job = objects.find((o) => o.kind === 'Job' && o.metadata.name === 'velora-migrate')!;
    const [node, inputType, evalFlag, script] = job.spec!.template!.spec.containers[0]!.command;
    expect([node, inputType, evalFlag]).toEqual(['node', '--input-type=module', '-e']);
    // The image runs the build (dist/**/*.js); here the same modules run from source under tsx.
    const fromSource = script!.replace(/'\.\/dist\/([^']+)\.js'/g, "'./$1.ts'");
    const suffix = randomBytes(4).toString('hex');
    const names = {
      velora_auth: `velora_jobtest_auth_${suffix}`,
      velora_wallet: `velora_jobtest_wallet_${suffix}`,
    };
    for (const [role, name] of Object.entries(names)) await ensureDatabase(role, name);
    try {
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', fromSource],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: {
            ...process.env,
            AUTH_DATABASE_URL: pgUrl('velora_auth', names.velora_auth),
            WALLET_MIGRATION_DATABASE_URL: pgUrl('velora_wallet', names.velora_wallet),
          },
        },
      );
      expect(out).toMatch(/velora_auth: [1-9]\d* migration\(s\) applied/);
      expect(out).toContain('velora_wallet: migrated');
      const client = new pg.Client({ connectionString: pgUrl('velora_wallet', names.velora_wallet) });
      await client.connect();
      const { rows } = await client.query<{ n: string }>(
        `select count(*)::text as n from information_schema.tables where table_name in ('wallets', 'holds')`,
      );
      await client.end();
      expect(rows[0]!.n).toBe('2');
    } finally {
      for (const [role, name] of Object.entries(names)) {
        const admin = new pg.Client({ connectionString: pgUrl(role, 'postgres') });
        await admin.connect();
        await admin.query(`drop database if exists ${name} with (force)`);
        await admin.end();
      }
    }
  }, 120_000);
});

describe('what the deployment files name exists in the code', () => {
  it('registers the search attributes of temporal-config/index.ts, no more, no fewer', () => {
    const script = readFileSync(path.join(ROOT, 'deploy/k8s/base/search-attributes.sh'), 'utf8');
    const listed = /^ATTRIBUTES='([^']+)'$/m.exec(script)![1]!.split(' ');
    expect(listed.sort()).toEqual(
      Object.entries(SEARCH_ATTRIBUTE_DECLARATIONS)
        .map(([name, type]) => `${name}:${type}`)
        .sort(),
    );
  });

  it('uses only metric names the services register with prom-client', () => {
    const sources = ['lib', 'auth', 'wallet', 'gateway', 'workers', 'activities']
      .flatMap((d) =>
        readdirSync(path.join(ROOT, d), { recursive: true, encoding: 'utf8' }).map((f) => path.join(d, f)),
      )
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => readFileSync(path.join(ROOT, f), 'utf8'))
      .join('\n');
    const used = [
      readFileSync(path.join(ROOT, 'deploy/prometheus/rules.yml'), 'utf8'),
      readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/velora-transfers.json'), 'utf8'),
    ]
      .join('\n')
      .match(/\b(?:orchestrator|wallet_outbox|wallet_events|gateway|http_server|auth)_[a-z_]+\b/g)!;
    const names = [...new Set(used.map((m) => m.replace(/_(bucket|count|sum)$/, '')))];
    expect(names.length).toBeGreaterThanOrEqual(8);
    for (const name of names) expect(sources, name).toContain(`name: '${name}'`);
  });
});

/** A TCP port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('deploy/k8s/base/search-attributes.sh against a Temporal server', () => {
  it('waits in vain while they are missing, registers them with the namespace, then finds them all', async () => {
    const temporalCli = requireTool('temporal', 'TEMPORAL_CLI_PATH');
    const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const server = spawn(
      temporalCli,
      ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port)].concat([
        '--http-port',
        String(httpPort),
        '--metrics-port',
        String(metricsPort),
        '--log-level',
        'error',
      ]),
      { stdio: 'ignore' },
    );
    const script = path.join(ROOT, 'deploy/k8s/base/search-attributes.sh');
    const run = (mode: string, env: Record<string, string>) =>
      spawnSync('sh', [script, mode], {
        encoding: 'utf8',
        env: {
          ...process.env,
          PATH: `${path.dirname(temporalCli)}${path.delimiter}${process.env.PATH ?? ''}`,
          TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
          SEARCH_ATTRIBUTES_SLEEP_SECONDS: '1',
          ...env,
        },
      });
    try {
      // Nothing answers yet, or the attributes are missing: `wait` gives up loudly, naming them.
      const waited = run('wait', { SEARCH_ATTRIBUTES_ATTEMPTS: '3', TEMPORAL_NAMESPACE: 'velora-sa' });
      expect(waited.status).toBe(1);
      expect(waited.stderr).toMatch(/still missing after 3 attempts: .*(TransferStatus|not answering)/);
      const registered = run('register', {
        SEARCH_ATTRIBUTES_ATTEMPTS: '60',
        TEMPORAL_NAMESPACE: 'velora-sa',
        TEMPORAL_NAMESPACE_RETENTION: '720h',
      });
      expect(registered.stderr).not.toContain('still missing');
      expect(registered.status).toBe(0);
      expect(registered.stdout).toContain('search attributes on namespace velora-sa: all registered');
      const again = run('wait', { SEARCH_ATTRIBUTES_ATTEMPTS: '1', TEMPORAL_NAMESPACE: 'velora-sa' });
      expect(again.status).toBe(0);
      const listed = execFileSync(
        temporalCli,
        [
          'operator',
          'search-attribute',
          'list',
          '--address',
          `127.0.0.1:${port}`,
          '-n',
          'velora-sa',
          '-o',
          'json',
        ],
        { encoding: 'utf8' },
      );
      const custom = (JSON.parse(listed) as { customAttributes: Record<string, string> }).customAttributes;
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_DECLARATIONS)) {
        expect(custom[name], name).toBe(`INDEXED_VALUE_TYPE_${type.toUpperCase()}`);
      }
      const described = execFileSync(
        temporalCli,
        ['operator', 'namespace', 'describe', '--address', `127.0.0.1:${port}`, '-n', 'velora-sa'],
        { encoding: 'utf8' },
      );
      expect(described).toMatch(/RetentionTtl\s+720h/);
    } finally {
      server.kill('SIGTERM');
    }
  }, 180_000);
});
