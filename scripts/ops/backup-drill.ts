/**
 * The restore drill: `node --import tsx scripts/ops/backup-drill.ts [--keep <dir>]`. On the
 * scratch profile's stack (started if it is not running) it backs up every store
 * (scripts/ops/backup.ts), stops the stack, destroys the stores (drops the databases, deletes
 * Temporal's file), restores them (scripts/ops/restore.ts), starts the stack again and runs
 * reconciliation, which must find nothing. Exit 0 when the books are clean after the restore.
 *
 * Only the scratch profile: the test profile's Temporal and MongoDB wire server are shared by
 * every unit test run on the machine, and the dev profile is someone's work. The same steps by
 * hand, for any deployment, are in docs/operations.md.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { ROOT } from '../stack/paths.js';
import { PROFILES, type StackProfile } from '../stack/profile.js';
import { stackEnv } from '../stack/services.js';
import { stackDown, stackUp } from '../stack/stack.js';
import { backupStack, type BackupEntry, type BackupManifest } from './backup.js';
import { dropDatabases, removeTemporalDb, restoreStack } from './restore.js';

const execFileAsync = promisify(execFile);

export interface DrillResult {
  manifest: BackupManifest;
  /** WalletService's reconciliation report after the restore (`ok` must be true). */
  reconciliation: { ok: boolean; discrepancies: unknown[]; checked: Record<string, number> };
}

/**
 * Backs up, destroys, restores and reconciles the scratch stack. `onDestroyed` runs while the
 * stores are gone (the e2e test looks there). Leaves the stack running.
 */
export async function runBackupDrill(options: {
  backupDir: string;
  log?: (line: string) => void;
  onDestroyed?: (profile: StackProfile) => Promise<void>;
  /** Runs after each store's copy: traffic between two copies is what the order is for. */
  afterCopy?: (entry: BackupEntry) => Promise<void>;
}): Promise<DrillResult> {
  const profile = PROFILES.scratch;
  const log = options.log ?? console.log;
  const { mongo } = await stackUp(profile, { log });
  log(`backing up the ${profile.name} stack into ${options.backupDir}`);
  const manifest = await backupStack(profile, options.backupDir, { log, afterCopy: options.afterCopy });

  log('stopping the stack and destroying its stores');
  await stackDown(profile, log);
  await dropDatabases(manifest.entries.flatMap((e) => (e.method === 'pg_dump' ? [e.database!] : [])));
  removeTemporalDb(profile);
  await options.onDestroyed?.(profile);

  log('restoring');
  await restoreStack(profile, options.backupDir, log);
  await stackUp(profile, { log });
  log('reconciling');
  const reconciliation = await reconcile(stackEnv(profile, mongo.url));
  log(
    `reconciliation: ${reconciliation.ok ? 'clean' : `${reconciliation.discrepancies.length} discrepancies`}`,
  );
  return { manifest, reconciliation };
}

/**
 * Runs the operator's reconciliation command with the stack's environment. It exits 1 while
 * the outbox relay has not caught up with what the restore asked it to re-send, so it is
 * repeated for a while before its last report is taken.
 */
async function reconcile(env: Record<string, string>): Promise<DrillResult['reconciliation']> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { stdout, code } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'wallet', 'reconciliation', 'reconcile.command.ts')],
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
    ).then(
      (r) => ({ stdout: r.stdout, code: 0 }),
      (err: Error & { stdout?: string; code?: number; stderr?: string }) => {
        if (err.code !== 1) throw new Error(`reconciliation failed to run: ${err.stderr || err.message}`);
        return { stdout: err.stdout ?? '', code: 1 };
      },
    );
    const report = JSON.parse(stdout) as DrillResult['reconciliation'];
    if (code === 0 || Date.now() > deadline) return report;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { keep: { type: 'string' } } });
  const backupDir = values.keep ?? mkdtempSync(path.join(tmpdir(), 'velora-backup-drill-'));
  runBackupDrill({ backupDir }).then(
    ({ reconciliation }) => {
      console.log(JSON.stringify(reconciliation, null, 2));
      process.exit(reconciliation.ok ? 0 : 1);
    },
    (err: unknown) => {
      console.error(`drill failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    },
  );
}
