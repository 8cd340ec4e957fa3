import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { ensureDatabase } from './infrastructure.js';
import { ROOT } from './paths.js';
import { pgUrl } from './profile.js';
import { runningPid, startProcess, waitFor } from './processes.js';
import { findTool, requireTool } from './tools.js';

/** True when a MongoDB wire-protocol server answers `ping` at `url`. */
export async function mongoAnswers(url: string): Promise<boolean> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 1500, connectTimeoutMS: 1500 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * Provides a MongoDB wire-protocol server and returns its URL: `MONGO_URL` if it answers, else
 * a local `mongod` if installed, else FerretDB backed by its own PostgreSQL database.
 */
export async function ensureMongo(
  dir: string,
  port: number,
  ferretDatabase: string,
  log: (line: string) => void,
): Promise<{ url: string; kind: 'external' | 'mongod' | 'ferretdb'; started: boolean }> {
  const external = process.env.MONGO_URL;
  if (external && (await mongoAnswers(external))) return { url: external, kind: 'external', started: false };
  if (external) log(`MONGO_URL (${redactUrl(external)}) does not answer; starting a local server instead`);

  const url = `mongodb://127.0.0.1:${port}/`;
  const mongod = findTool('mongod');
  const kind = mongod ? 'mongod' : 'ferretdb';
  if (runningPid(dir, kind) !== undefined || (await mongoAnswers(url))) {
    await waitFor('MongoDB wire server', () => mongoAnswers(url), 30_000);
    return { url, kind, started: false };
  }
  if (mongod) {
    const dbPath = path.join(dir, 'mongo');
    mkdirSync(dbPath, { recursive: true });
    startProcess(
      dir,
      'mongod',
      mongod,
      ['--dbpath', dbPath, '--port', String(port), '--bind_ip', '127.0.0.1'],
      {},
      ROOT,
    );
  } else {
    await ensureDatabase(ferretDatabase, ferretDatabase);
    // scripts/ferretdb wraps FerretDB's embeddable package (see its main.go for why).
    startProcess(
      dir,
      'ferretdb',
      requireTool('ferretdb', 'FERRETDB_PATH'),
      [
        `--listen-addr=127.0.0.1:${port}`,
        `--postgresql-url=${pgUrl(ferretDatabase, ferretDatabase)}`,
        '--log-level=error',
      ],
      {},
      ROOT,
    );
  }
  await waitFor(
    `${kind} on port ${port}`,
    () => mongoAnswers(url),
    60_000,
    path.join(dir, 'logs', `${kind}.log`),
    () => (runningPid(dir, kind) === undefined ? 'the server exited' : undefined),
  );
  return { url, kind, started: true };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Drops one database of the MongoDB wire server (fresh stacks and test runs). */
export async function dropMongoDatabase(url: string, database: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
  }
}
