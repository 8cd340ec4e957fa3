/**
 * Operator command: `node --import tsx scripts/ops/restore.ts --profile dev --from <backup dir>`.
 * Puts back every store a backup (scripts/ops/backup.ts) holds, replacing what is there. The
 * stack must be down (`scripts/velora down`): the databases are dropped and recreated, and the
 * Temporal dev server's file is replaced. Afterwards `scripts/velora up` and reconciliation
 * (`node --import tsx wallet/reconciliation/reconcile.command.ts`) — scripts/ops/backup-drill.ts does it
 * all, on the scratch profile.
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { components } from '../stack/components.js';
import { ADMIN_URL, ensureDatabase } from '../stack/infrastructure.js';
import { stackDir } from '../stack/paths.js';
import type { StackProfile } from '../stack/profile.js';
import { runningPid } from '../stack/processes.js';
import { adminUrlFor, profileFromArgs, run, temporalDbFile, type BackupManifest } from './backup.js';

/** Refuses to restore under a running stack: its services would write into half-restored stores. */
export function assertStackDown(profile: StackProfile): void {
  const running = components(profile).filter((c) => runningPid(stackDir(profile.name), c.name) !== undefined);
  if (running.length > 0)
    throw new Error(
      `the ${profile.name} stack is running (${running.map((c) => c.name).join(', ')}): stop it first (scripts/velora down --profile ${profile.name})`,
    );
}

/** Drops PostgreSQL databases (connections are ended: the stack is down, stragglers are not). */
export async function dropDatabases(databases: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    for (const database of databases) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`unsafe database name ${database}`);
      await client.query(`drop database if exists ${database} with (force)`);
    }
  } finally {
    await client.end();
  }
}

/** Removes the Temporal dev server's SQLite file and its WAL companions. */
export function removeTemporalDb(profile: StackProfile): void {
  const file = temporalDbFile(profile);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}

/**
 * Restores every store of `from` into `profile`'s stack (which must be down), in the backup's
 * order, then re-sends the wallet outbox rows relayed after the MongoDB copy began: those
 * documents may be missing from the restored MongoDB, and the relay ignores the ones that are not.
 */
export async function restoreStack(
  profile: StackProfile,
  from: string,
  log: (line: string) => void = console.log,
): Promise<BackupManifest> {
  const manifest = JSON.parse(readFileSync(path.join(from, 'manifest.json'), 'utf8')) as BackupManifest;
  assertStackDown(profile);
  for (const entry of manifest.entries) {
    const file = path.join(from, entry.file);
    if (!existsSync(file)) throw new Error(`${entry.file} is missing from ${from}`);
    if (entry.method === 'sqlite-backup') {
      removeTemporalDb(profile);
      copyFileSync(file, temporalDbFile(profile));
    } else if (entry.method === 'pg_dump') {
      const database = entry.database!;
      await dropDatabases([database]);
      await ensureDatabase(entry.owner!, database);
      // As the owner: every object belongs to the service's role again, as its migrations made it.
      await run('pg_restore', [
        '--exit-on-error',
        '--no-owner',
        `--role=${entry.owner!}`,
        `--dbname=${adminUrlFor(database)}`,
        file,
      ]);
    } else {
      await run('mongorestore', [
        `--uri=mongodb://127.0.0.1:${profile.ports.mongo}/`,
        '--drop',
        `--archive=${file}`,
      ]);
    }
    log(`${entry.store}: restored from ${entry.file}`);
  }
  const mongo = manifest.entries.find((e) => e.store === 'mongo');
  if (mongo) {
    const resent = await resendOutboxSince(profile.databases.wallet, mongo.started_at);
    log(`wallet outbox: ${resent} rows relayed after the MongoDB copy began will be relayed again`);
  }
  return manifest;
}

/** Marks the outbox rows relayed at or after `since` as not relayed, so the relay sends them again. */
async function resendOutboxSince(walletDatabase: string, since: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrlFor(walletDatabase) });
  await client.connect();
  try {
    const result = await client.query(
      'update outbox set relayed_at = null, claimed_until = null where relayed_at >= $1',
      [since],
    );
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { profile: { type: 'string' }, from: { type: 'string' } } });
  if (!values.from) {
    console.error('usage: scripts/ops/restore.ts [--profile dev|test|scratch] --from <backup folder>');
    process.exit(2);
  }
  restoreStack(profileFromArgs(values.profile), values.from).then(
    () => console.log('restore complete: start the stack and run reconciliation'),
    (err: unknown) => {
      console.error(`restore failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
