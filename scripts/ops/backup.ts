/**
 * Operator command: `node --import tsx scripts/ops/backup.ts --profile dev --out <dir>`. Backs up
 * one local stack's stores into `<dir>` (created; must be empty) and writes `manifest.json`:
 *   temporal.db   the Temporal dev server's SQLite file (sqlite3's online backup: consistent
 *                 while the server runs)
 *   auth.dump     PostgreSQL velora_auth (pg_dump custom format)
 *   mongo.dump    the MongoDB wire server's store: FerretDB keeps it in its own PostgreSQL
 *                 database (pg_dump); a real mongod is dumped with mongodump
 *   wallet.dump   PostgreSQL velora_wallet, last (the ledger, and the transfer records that
 *                 outlive Temporal's retention: nothing special, they are rows like the rest)
 * The order is the point: each store is copied no later than the stores it depends on, so a
 * restore can only be behind, never ahead. A restored workflow that is behind the wallet re-runs
 * a step and WalletService answers it from its idempotency records; MongoDB behind the wallet's
 * outbox is caught up by the restore (scripts/ops/restore.ts re-sends what was relayed after the
 * MongoDB copy began). Redis holds only codes, rate-limit counters and the token denylist, whose
 * entries die within an access token's life: it is not backed up. docs/operations.md has the
 * same procedure for a Docker Compose deployment.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { mongoKind } from '../stack/components.js';
import { ADMIN_URL } from '../stack/infrastructure.js';
import { stackDir } from '../stack/paths.js';
import { isProfileName, PROFILES, type StackProfile } from '../stack/profile.js';

export const run = promisify(execFile);

/** One store's copy in a backup, in the order it was taken. */
export interface BackupEntry {
  store: 'temporal' | 'auth' | 'mongo' | 'wallet';
  /** How it was copied, and so how it is restored. */
  method: 'sqlite-backup' | 'pg_dump' | 'mongodump';
  /** The PostgreSQL database or MongoDB database it came from (absent for the SQLite file). */
  database?: string;
  /** The role that owns the PostgreSQL database (the restore recreates it owned by the same). */
  owner?: string;
  file: string;
  bytes: number;
  started_at: string;
}

export interface BackupManifest {
  profile: StackProfile['name'];
  started_at: string;
  finished_at: string;
  entries: BackupEntry[];
}

/** A URL for `database` on the PostgreSQL server of the admin connection. */
export function adminUrlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** The Temporal dev server's SQLite file of a profile. */
export function temporalDbFile(profile: StackProfile): string {
  return path.join(stackDir(profile.name), 'temporal.db');
}

/** Where this stack keeps its MongoDB documents, and so how they are copied. */
export function mongoStore(profile: StackProfile): { method: 'pg_dump' | 'mongodump'; database: string } {
  if (process.env.MONGO_URL)
    throw new Error(
      'MONGO_URL names a MongoDB this stack does not run: back it up with mongodump (docs/operations.md)',
    );
  return mongoKind() === 'ferretdb'
    ? { method: 'pg_dump', database: profile.databases.ferret }
    : { method: 'mongodump', database: profile.mongoDb };
}

/**
 * Backs up every store of `profile` into the empty or new folder `out`; returns the manifest.
 * `afterCopy` runs after each store's copy (the drill's test moves money between two copies).
 */
export async function backupStack(
  profile: StackProfile,
  out: string,
  options: { log?: (line: string) => void; afterCopy?: (entry: BackupEntry) => Promise<void> } = {},
): Promise<BackupManifest> {
  const log = options.log ?? console.log;
  mkdirSync(out, { recursive: true });
  if (readdirSync(out).length > 0)
    throw new Error(`${out} is not empty: a backup goes into a folder of its own`);
  const startedAt = new Date().toISOString();
  const entries: BackupEntry[] = [];
  const take = async (
    entry: Omit<BackupEntry, 'bytes' | 'started_at'>,
    copy: (file: string) => Promise<unknown>,
  ) => {
    const started = new Date().toISOString();
    const file = path.join(out, entry.file);
    await copy(file);
    const done: BackupEntry = { ...entry, bytes: statSync(file).size, started_at: started };
    entries.push(done);
    log(`${entry.store}: ${entry.file} (${done.bytes} bytes)`);
    await options.afterCopy?.(done);
  };
  const pgDump = (database: string) => (file: string) =>
    run('pg_dump', ['--format=custom', `--file=${file}`, `--dbname=${adminUrlFor(database)}`]);

  await take({ store: 'temporal', method: 'sqlite-backup', file: 'temporal.db' }, (file) =>
    run('sqlite3', [temporalDbFile(profile), `.backup '${file}'`]),
  );
  await take(
    {
      store: 'auth',
      method: 'pg_dump',
      database: profile.databases.auth,
      owner: 'velora_auth',
      file: 'auth.dump',
    },
    pgDump(profile.databases.auth),
  );
  const mongo = mongoStore(profile);
  if (mongo.method === 'pg_dump') {
    const database = mongo.database;
    await take(
      { store: 'mongo', method: 'pg_dump', database, owner: database, file: 'mongo.dump' },
      pgDump(database),
    );
  } else {
    await take(
      { store: 'mongo', method: 'mongodump', database: mongo.database, file: 'mongo.archive' },
      (file) =>
        run('mongodump', [
          `--uri=mongodb://127.0.0.1:${profile.ports.mongo}/`,
          `--db=${mongo.database}`,
          `--archive=${file}`,
        ]),
    );
  }
  await take(
    {
      store: 'wallet',
      method: 'pg_dump',
      database: profile.databases.wallet,
      owner: 'velora_wallet',
      file: 'wallet.dump',
    },
    pgDump(profile.databases.wallet),
  );
  const manifest: BackupManifest = {
    profile: profile.name,
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    entries,
  };
  writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The profile named by `--profile` (or VELORA_PROFILE, default dev). */
export function profileFromArgs(value: string | undefined): StackProfile {
  const name = value ?? process.env.VELORA_PROFILE ?? 'dev';
  if (!isProfileName(name)) throw new Error(`unknown profile ${name} (${Object.keys(PROFILES).join(', ')})`);
  return PROFILES[name];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { profile: { type: 'string' }, out: { type: 'string' } } });
  if (!values.out) {
    console.error('usage: scripts/ops/backup.ts [--profile dev|test|scratch] --out <empty folder>');
    process.exit(2);
  }
  backupStack(profileFromArgs(values.profile), values.out).then(
    () => console.log(`backup complete: ${path.join(values.out!, 'manifest.json')}`),
    (err: unknown) => {
      console.error(`backup failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
