import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ensureDatabase, ensurePostgres, ensureRedis, flushRedisDatabase } from './infrastructure.js';
import { dropMongoDatabase, ensureMongo } from './mongo.js';
import { ROOT, stackDir } from './paths.js';
import { type StackProfile } from './profile.js';
import { httpOk, runningPid, startProcess, stopProcess, tcpOpen, waitFor } from './processes.js';
import { services, stackEnv, type ServiceSpec } from './services.js';
import { ensureTemporal } from './temporal.js';
import { findTool } from './tools.js';

export interface UpResult {
  env: Record<string, string>;
  started: string[];
}

/**
 * Brings up one whole Velora system: PostgreSQL and Redis (the machine's, started if down),
 * per-service databases and roles, Temporal (+ Web UI), a MongoDB wire server, then auth,
 * wallet, the orchestrator worker and the gateway; resolves once every `/readyz` answers 200.
 */
export async function stackUp(
  profile: StackProfile,
  options: { fresh?: boolean; log?: (line: string) => void } = {},
) {
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = stackDir(profile.name);
  mkdirSync(dir, { recursive: true });
  const started: string[] = [];

  log('PostgreSQL and Redis …');
  await ensurePostgres(log);
  await ensureRedis(log);
  await ensureDatabase('velora_auth', profile.databases.auth, { fresh: options.fresh });
  await ensureDatabase('velora_wallet', profile.databases.wallet, { fresh: options.fresh });
  // Fresh also means no OTP codes, rate-limit counters or denylist entries from earlier runs.
  if (options.fresh) await flushRedisDatabase(profile.redisUrl);

  log('Temporal dev server …');
  if (await ensureTemporal(dir, profile.ports)) started.push('temporal');
  log('MongoDB wire server …');
  const mongo = await ensureMongo(dir, profile.ports.mongo, profile.databases.ferret, log);
  if (mongo.started) started.push(mongo.kind);
  // The logs in MongoDB are copies of the PostgreSQL journal: a fresh journal needs fresh copies,
  // or reconciliation rightly reports the old documents as unexpected.
  if (options.fresh) await dropMongoDatabase(mongo.url, profile.mongoDb);

  const env = stackEnv(profile, mongo.url);
  for (const svc of services(profile)) {
    if (runningPid(dir, svc.name) !== undefined) continue;
    if (await tcpOpen(svc.port))
      throw new Error(`port ${svc.port} for ${svc.name} is taken by another process`);
    log(`${svc.name} …`);
    startService(profile, svc, env);
    started.push(svc.name);
  }
  for (const svc of services(profile)) await waitServiceReady(profile, svc);
  return { env, started, mongo };
}

/** Starts one of Velora's own services with the stack's environment (no wait). */
export function startService(profile: StackProfile, svc: ServiceSpec, env: Record<string, string>): void {
  startProcess(
    stackDir(profile.name),
    svc.name,
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, svc.entry)],
    env,
    ROOT,
  );
}

/** Resolves when the service's `/readyz` answers 200; fails at once if its process exited. */
export async function waitServiceReady(
  profile: StackProfile,
  svc: ServiceSpec,
  timeoutMs = 120_000,
): Promise<void> {
  const dir = stackDir(profile.name);
  await waitFor(
    `${svc.name} /readyz`,
    () => httpOk(`http://127.0.0.1:${svc.port}/readyz`),
    timeoutMs,
    path.join(dir, 'logs', `${svc.name}.log`),
    () => (runningPid(dir, svc.name) === undefined ? 'the process exited' : undefined),
  );
}

/** Stops every process this profile's stack started (services first), and nothing else. */
export async function stackDown(
  profile: StackProfile,
  log: (line: string) => void = console.log,
  options: { servicesOnly?: boolean } = {},
): Promise<void> {
  const dir = stackDir(profile.name);
  if (!existsSync(dir)) return;
  for (const svc of [...services(profile)].reverse()) {
    if (await stopProcess(dir, svc.name)) log(`stopped ${svc.name}`);
  }
  // With `servicesOnly`, Temporal and the MongoDB wire server keep running.
  if (options.servicesOnly) return;
  for (const name of ['ferretdb', 'mongod', 'temporal']) {
    if (await stopProcess(dir, name)) log(`stopped ${name}`);
  }
}

export interface ComponentStatus {
  name: string;
  pid?: number;
  url: string;
  up: boolean;
}

/** What runs where, and whether it answers. */
export async function stackStatus(profile: StackProfile): Promise<ComponentStatus[]> {
  const dir = stackDir(profile.name);
  const p = profile.ports;
  const rows: ComponentStatus[] = [];
  for (const svc of services(profile)) {
    rows.push({
      name: svc.name,
      pid: runningPid(dir, svc.name),
      url: `http://127.0.0.1:${svc.port}`,
      up: await httpOk(`http://127.0.0.1:${svc.port}/readyz`),
    });
  }
  rows.push({
    name: 'temporal',
    pid: runningPid(dir, 'temporal'),
    url: `127.0.0.1:${p.temporal}`,
    up: await tcpOpen(p.temporal),
  });
  rows.push({
    name: 'temporal-ui',
    pid: runningPid(dir, 'temporal'),
    url: `http://127.0.0.1:${p.temporalUi}`,
    up: await tcpOpen(p.temporalUi),
  });
  const mongoKind = findTool('mongod') ? 'mongod' : 'ferretdb';
  rows.push({
    name: mongoKind,
    pid: runningPid(dir, mongoKind),
    url: `mongodb://127.0.0.1:${p.mongo}/`,
    up: await tcpOpen(p.mongo),
  });
  rows.push({ name: 'postgresql', url: '127.0.0.1:5432', up: await tcpOpen(5432) });
  rows.push({ name: 'redis', url: '127.0.0.1:6379', up: await tcpOpen(6379) });
  return rows;
}
