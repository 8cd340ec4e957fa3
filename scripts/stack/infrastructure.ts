import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import { createClient } from 'redis';
import { PG_HOST, PG_PORT } from './profile.js';
import { waitFor } from './processes.js';

/** The superuser connection that creates roles and databases (and backs them up: scripts/ops/). */
export const ADMIN_URL =
  process.env.VELORA_PG_ADMIN_URL ?? `postgres://postgres@${PG_HOST}:${PG_PORT}/postgres`;

async function pgAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Makes sure PostgreSQL answers; starts the machine's Debian cluster if it does not. */
export async function ensurePostgres(log: (line: string) => void): Promise<void> {
  if (await pgAnswers()) return;
  log('PostgreSQL does not answer; starting the local cluster');
  const version = readdirSync('/etc/postgresql')[0];
  if (!version)
    throw new Error(
      'PostgreSQL is not running and no Debian cluster is installed (/etc/postgresql is empty)',
    );
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], {
    stdio: 'inherit',
  });
  await waitFor('PostgreSQL', pgAnswers, 30_000);
}

/** Makes sure Redis answers; starts a non-persistent local one if it does not. */
export async function ensureRedis(log: (line: string) => void): Promise<void> {
  const answers = async () => {
    const client = createClient({
      url: 'redis://127.0.0.1:6379',
      socket: { connectTimeout: 1000, reconnectStrategy: false },
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      await client.close().catch(() => undefined);
    }
  };
  if (await answers()) return;
  log('Redis does not answer; starting a local one');
  execFileSync(
    'redis-server',
    ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'inherit',
    },
  );
  await waitFor('Redis', answers, 15_000);
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates `role` (LOGIN) and `database` owned by it when missing. With `fresh`, the database is
 * dropped first so a test run starts from an empty schema.
 */
export async function ensureDatabase(
  role: string,
  database: string,
  options: { fresh?: boolean } = {},
): Promise<void> {
  if (!IDENT.test(role) || !IDENT.test(database)) throw new Error(`unsafe identifier: ${role}/${database}`);
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await createRoleIfMissing(client, role);
    if (options.fresh) await client.query(`drop database if exists ${database} with (force)`);
    const dbRow = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (dbRow.rowCount === 0)
      await client.query(`create database ${database} owner ${role}`).catch(ignoreDuplicate);
  } finally {
    await client.end();
  }
}

/** Drops `database` (closing its connections) when it exists. */
export async function dropDatabase(database: string): Promise<void> {
  if (!IDENT.test(database)) throw new Error(`unsafe identifier: ${database}`);
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(`drop database if exists ${database} with (force)`);
  } finally {
    await client.end();
  }
}

/**
 * Creates `role` (LOGIN, owning nothing) when missing: a service role that the owner of its
 * database grants what it may do (WalletService's `velora_wallet_service`, migration 0043).
 */
export async function ensureRole(role: string): Promise<void> {
  if (!IDENT.test(role)) throw new Error(`unsafe identifier: ${role}`);
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await createRoleIfMissing(client, role);
  } finally {
    await client.end();
  }
}

async function createRoleIfMissing(client: pg.Client, role: string): Promise<void> {
  const row = await client.query('select 1 from pg_roles where rolname = $1', [role]);
  if (row.rowCount === 0) await client.query(`create role ${role} login`).catch(ignoreDuplicate);
}

// Two stacks starting at once may race to create the same role or database.
function ignoreDuplicate(err: unknown) {
  const code = (err as { code?: string }).code;
  if (code !== '42710' && code !== '42P04' && code !== '23505') throw err;
}

/** Empties the one Redis database `url` names (e.g. `redis://127.0.0.1:6379/14`). */
export async function flushRedisDatabase(url: string): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    await client.flushDb();
  } finally {
    await client.close();
  }
}
