/**
 * A throwaway PostgreSQL cluster of its own for the ledger's measuring tools (callgrind.ts,
 * wal.ts): initdb in a temporary folder owned by the postgres user, started on a random port
 * with the caller's server settings, so what they count is not mixed with the machine's server.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Runs a PostgreSQL program as the postgres user; throws with its stderr when it fails. */
export function asPostgres(cmd: string, argv: string[], input?: string): string {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...argv], {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export interface PrivateCluster {
  /** The temporary folder (data directory, socket, server log). */
  dir: string;
  data: string;
  port: number;
  /** Connection flags for psql, createdb and pgbench. */
  conn: string[];
  postmasterPid: number;
  url: (database: string) => string;
  /** Stops the server at once and, unless `keep`, removes the folder. */
  discard: (keep?: boolean) => void;
}

/** `settings` are the server's `-c name=value` options after the port, socket and address. */
export function startPrivateCluster(prefix: string, settings: string): PrivateCluster {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
  const data = path.join(dir, 'data');
  const port = 40_000 + Math.floor(Math.random() * 20_000);
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  asPostgres('pg_ctl', [
    '-D',
    data,
    '-w',
    '-l',
    path.join(dir, 'server.log'),
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 ${settings}`,
    'start',
  ]);
  return {
    dir,
    data,
    port,
    conn: ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'],
    postmasterPid: Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    discard: (keep = false) => {
      spawnSync('runuser', ['-u', 'postgres', '--', 'pg_ctl', '-D', data, '-m', 'immediate', 'stop'], {
        stdio: 'ignore',
      });
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
