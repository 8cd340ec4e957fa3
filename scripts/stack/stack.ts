import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { components, describeProcess, mongoKind, ownership, type Component } from './components.js';
import {
  ensureDatabase,
  ensurePostgres,
  ensureRedis,
  ensureRole,
  flushRedisDatabase,
} from './infrastructure.js';
import { withStackLock, type LockHolder } from './lock.js';
import { ensureMailpit } from './mailpit.js';
import { dropMongoDatabase, ensureMongo } from './mongo.js';
import { ROOT, stackDir } from './paths.js';
import { type StackProfile } from './profile.js';
import {
  httpOk,
  portOwners,
  removePidFile,
  runningPid,
  startProcess,
  stopPid,
  stopProcess,
  tcpOpen,
  waitFor,
} from './processes.js';
import { services, stackEnv, type ServiceSpec } from './services.js';
import { ensureSupervisor, readSupervisorState, stopSupervisor, supervisorPids } from './supervisor.js';
import { ensureTemporal } from './temporal.js';
export interface UpResult {
  env: Record<string, string>;
  /** The components this call started (not those it found running or adopted). */
  started: string[];
  mongo: Awaited<ReturnType<typeof ensureMongo>>;
}

/** How long `up` and `down` wait for another stack command of the same profile. */
const LOCK_WAIT_MS = 10 * 60_000;

function lockOptions(log: (line: string) => void) {
  return {
    waitMs: LOCK_WAIT_MS,
    onWait: (holder: LockHolder | undefined) =>
      log(
        `waiting for ${holder ? `\`${holder.command}\` (pid ${holder.pid})` : 'another stack command'} to finish with this profile …`,
      ),
  };
}

/**
 * Decides what `up` does with one component: `ours` (running, this stack's: keep it, adopting
 * it if its pid file was lost), `external` (someone else's, healthy: use it, never stop or
 * supervise it) or `free` (start it). A port held by someone else's unhealthy process is an error
 * that names the process: `up` never stops what it did not start.
 */
async function claim(
  profile: StackProfile,
  component: Component,
  log: (line: string) => void,
): Promise<'ours' | 'external' | 'free'> {
  const found = await ownership(profile, component, { adopt: true });
  switch (found.kind) {
    case 'ours':
      if (found.adopted) log(`${component.name}: adopted pid ${found.pid} (running without its pid file)`);
      return 'ours';
    case 'free':
      return 'free';
    case 'foreign':
    case 'hidden': {
      const holder = found.kind === 'foreign' ? describeProcess(found.proc) : 'a process of another user';
      if (await component.healthy()) {
        log(
          `${component.name}: using the one on port ${component.port} (${holder}); this stack did not start it, so it neither supervises nor stops it`,
        );
        return 'external';
      }
      throw new Error(
        `port ${component.port} for ${component.name} is held by ${holder}, which this stack did not start and which does not answer a health check; stop it or free the port`,
      );
    }
  }
}

/**
 * Brings up one whole Velora system: PostgreSQL and Redis (the machine's, started if down),
 * per-service databases and roles, Temporal (+ Web UI), a MongoDB wire server, then auth,
 * wallet, the orchestrator worker and the gateway; resolves once every `/readyz` answers 200,
 * with the supervisor running (detached) to restart any of them that exits.
 * Holds the profile's lock throughout; if it fails, it stops only what it started itself.
 */
export async function stackUp(
  profile: StackProfile,
  options: { fresh?: boolean; log?: (line: string) => void } = {},
): Promise<UpResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  return withStackLock(profile.name, 'up', lockOptions(log), async () => {
    const started: string[] = [];
    try {
      return await bringUp(profile, options.fresh ?? false, log, started);
    } catch (err) {
      const dir = stackDir(profile.name);
      if (started.includes('supervisor')) await stopSupervisor(profile);
      for (const name of [...started].reverse()) {
        if (name !== 'supervisor' && (await stopProcess(dir, name)))
          log(`stopped ${name} (started by this up)`);
      }
      throw err;
    }
  });
}

async function bringUp(
  profile: StackProfile,
  fresh: boolean,
  log: (line: string) => void,
  started: string[],
): Promise<UpResult> {
  const dir = stackDir(profile.name);
  mkdirSync(dir, { recursive: true });
  const byName = new Map(components(profile).map((c) => [c.name, c]));

  log('PostgreSQL and Redis …');
  await ensurePostgres(log);
  await ensureRedis(log);
  await ensureDatabase('velora_auth', profile.databases.auth, { fresh });
  await ensureDatabase('velora_wallet', profile.databases.wallet, { fresh });
  // WalletService serves as this role; velora_wallet (the owner) migrates and grants it its rights.
  await ensureRole('velora_wallet_service');
  // Fresh also means no OTP codes, rate-limit counters or denylist entries from earlier runs.
  if (fresh) await flushRedisDatabase(profile.redisUrl);

  log('Temporal dev server …');
  await claim(profile, byName.get('temporal')!, log);
  if (await ensureTemporal(dir, profile.ports)) started.push('temporal');
  log('MongoDB wire server …');
  if (!process.env.MONGO_URL) await claim(profile, byName.get(mongoKind())!, log);
  const mongo = await ensureMongo(dir, profile.ports.mongo, profile.databases.ferret, log);
  if (mongo.started) started.push(mongo.kind);
  // The logs in MongoDB are copies of the PostgreSQL journal: a fresh journal needs fresh copies,
  // or reconciliation rightly reports the old documents as unexpected.
  if (fresh) await dropMongoDatabase(mongo.url, profile.mongoDb);
  log('Mailpit (SMTP catcher) …');
  await claim(profile, byName.get('mailpit')!, log);
  if (await ensureMailpit(dir, profile.ports)) started.push('mailpit');

  const env = stackEnv(profile, mongo.url);
  // Every service's port is claimed before any is started: a port held by someone else fails
  // the `up` before it starts anything.
  const claims: [ServiceSpec, Awaited<ReturnType<typeof claim>>][] = [];
  for (const svc of services(profile)) claims.push([svc, await claim(profile, byName.get(svc.name)!, log)]);
  const ours: ServiceSpec[] = [];
  for (const [svc, claimed] of claims) {
    if (claimed === 'external') continue;
    ours.push(svc);
    if (claimed === 'ours') continue;
    log(`${svc.name} …`);
    startService(profile, svc, env);
    started.push(svc.name);
  }
  for (const svc of ours) await waitServiceReady(profile, svc);
  if ((await ensureSupervisor(profile, mongo.url)).started) started.push('supervisor');
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

/**
 * Stops every process this profile's stack started, and nothing else: the supervisor first (so
 * it restarts nothing), then the services, then Temporal and the MongoDB wire server. A
 * component is found by its pid file or, when that is lost, by its port's owner if that is this
 * checkout's process for this component. Holds the profile's lock.
 */
export async function stackDown(
  profile: StackProfile,
  log: (line: string) => void = console.log,
  options: { servicesOnly?: boolean } = {},
): Promise<void> {
  await withStackLock(profile.name, 'down', lockOptions(log), async () => {
    const dir = stackDir(profile.name);
    if (await stopSupervisor(profile)) log('stopped supervisor');
    const all = components(profile).reverse();
    // With `servicesOnly`, Temporal and the MongoDB wire server keep running.
    const serviceNames: string[] = services(profile).map((s) => s.name);
    for (const component of options.servicesOnly ? all.filter((c) => serviceNames.includes(c.name)) : all) {
      // A second round catches a copy that held the port while the pid file named another.
      for (let round = 0; round < 3; round++) {
        const found = await ownership(profile, component);
        if (found.kind !== 'ours') break;
        removePidFile(dir, component.name);
        await stopPid(found.pid);
        log(`stopped ${component.name}${found.adopted ? ` (pid ${found.pid}, found by its port)` : ''}`);
      }
      removePidFile(dir, component.name);
    }
  });
}

export interface ComponentStatus {
  name: string;
  pid?: number;
  url: string;
  up: boolean;
  /** `stack`: this stack runs it; `no pid file`: ours, found by its port (`up` adopts it, `down`
   *  stops it); `external`: someone else's process on the port (used, never stopped). */
  owner?: 'stack' | 'no pid file' | 'external';
  /** Times the supervisor restarted it since the supervisor started. */
  restarts?: number;
}

/** What runs where, whether it answers, who owns it and how often it was restarted. */
export async function stackStatus(profile: StackProfile): Promise<ComponentStatus[]> {
  const p = profile.ports;
  const all = components(profile);
  const owners = portOwners(all.map((c) => c.port));
  const state = readSupervisorState(profile);
  const rows: ComponentStatus[] = [];
  const row = async (component: Component, url: string, up: Promise<boolean>) => {
    const found = await ownership(profile, component, { owners });
    rows.push({
      name: component.name,
      url,
      up: await up,
      ...(found.kind === 'ours'
        ? { pid: found.pid, owner: found.adopted ? 'no pid file' : 'stack' }
        : found.kind === 'foreign'
          ? { pid: found.proc.pid, owner: 'external' }
          : found.kind === 'hidden'
            ? { owner: 'external' }
            : {}),
      restarts: state?.components[component.name]?.restarts ?? 0,
    });
  };
  for (const component of all.filter((c) => c.name !== 'temporal' && c.name !== mongoKind())) {
    await row(component, `http://127.0.0.1:${component.port}`, component.healthy());
  }
  const temporal = all.find((c) => c.name === 'temporal')!;
  await row(temporal, `127.0.0.1:${p.temporal}`, tcpOpen(p.temporal));
  rows.push({
    ...rows.at(-1)!,
    name: 'temporal-ui',
    url: `http://127.0.0.1:${p.temporalUi}`,
    up: await tcpOpen(p.temporalUi),
  });
  delete rows.at(-1)!.restarts;
  const mongo = all.find((c) => c.name === mongoKind())!;
  await row(mongo, `mongodb://127.0.0.1:${p.mongo}/`, tcpOpen(p.mongo));
  const supervisor = supervisorPids(profile)[0];
  rows.push({
    name: 'supervisor',
    url: `.stack/${profile.name}/logs/supervisor.log`,
    up: supervisor !== undefined,
    ...(supervisor !== undefined ? { pid: supervisor, owner: 'stack' } : {}),
  });
  rows.push({ name: 'postgresql', url: '127.0.0.1:5432', up: await tcpOpen(5432) });
  rows.push({ name: 'redis', url: '127.0.0.1:6379', up: await tcpOpen(6379) });
  return rows;
}
