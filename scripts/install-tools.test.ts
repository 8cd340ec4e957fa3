import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testEnv } from '../test/support/test-env.js';

const SCRIPT = fileURLToPath(new URL('./install-tools.sh', import.meta.url));

/** The Mailpit release install-tools.sh pins. */
const MAILPIT_VERSION = /^MAILPIT_VERSION=(\S+)$/m.exec(readFileSync(SCRIPT, 'utf8'))![1]!;

/** Every flag of `temporal server start-dev` the stack passes (scripts/stack/temporal.ts). */
const START_DEV_FLAGS =
  '--ip --port --ui-port --ui-codec-endpoint --http-port --metrics-port --db-filename --namespace ' +
  '--log-level --sqlite-pragma --search-attribute --dynamic-config-value';

let dir: string;
let bin: string;
let tools: string;
let goCalls: string;

/** An executable shell script in the fake bin folder. */
function fakeTool(name: string, body: string) {
  const file = path.join(bin, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

/**
 * Runs install-tools.sh with a `go` that records its arguments and fails (nothing is built for
 * real), an empty tools folder, and a PATH of the fake tools plus node's folder and the system's.
 */
function install(env: Record<string, string>) {
  const result = spawnSync('bash', [SCRIPT], {
    encoding: 'utf8',
    env: {
      HOME: dir,
      PATH: [bin, path.dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
      VELORA_TOOLS_DIR: tools,
      ...env,
    },
  });
  const calls = readFileSync(goCalls, 'utf8');
  return { status: result.status, output: result.stdout + result.stderr, goCalls: calls };
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'velora-install-tools-'));
  bin = path.join(dir, 'bin');
  tools = path.join(dir, 'tools');
  goCalls = path.join(dir, 'go-calls');
  spawnSync('mkdir', ['-p', bin, tools]);
  writeFileSync(goCalls, '');
  fakeTool('go', `echo "go $*" >> '${goCalls}'; exit 3`);
  // tctl is best effort and noted once per machine: mark it tried, so only the two real tools count.
  writeFileSync(path.join(tools, '.tctl.failed'), '');
  // Mailpit has no alternative to choose between: a cached build at the pinned version is present.
  writeFileSync(path.join(tools, 'mailpit'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(path.join(tools, '.mailpit.version'), `${MAILPIT_VERSION}\n`);
  // A deploy-check build newer than its sources is kept.
  writeFileSync(path.join(tools, 'deploy-check'), '#!/bin/sh\n', { mode: 0o755 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/install-tools.sh', () => {
  it('builds nothing when a usable temporal is on PATH and MONGO_URL answers', () => {
    fakeTool('temporal', `echo 'Flags: ${START_DEV_FLAGS}'`);
    const run = install({ MONGO_URL: testEnv('mongoUrl') });
    expect(run.output).toContain(`temporal: using ${path.join(bin, 'temporal')} from PATH`);
    expect(run.output).toContain('MONGO_URL answers: FerretDB not needed');
    expect(run.goCalls).toBe('');
    expect(run.status).toBe(0);
  });

  it('builds the Temporal CLI when the temporal on PATH lacks a flag the stack passes', () => {
    fakeTool('temporal', `echo 'Flags: --ip --port --ui-port --db-filename --namespace'`);
    const run = install({ MONGO_URL: testEnv('mongoUrl') });
    expect(run.output).toContain('lacks flags the stack needs');
    expect(run.output).toContain(`TEMPORAL_CLI_PATH=${path.join(tools, 'temporal')}`);
    expect(run.goCalls).toContain('go install github.com/temporalio/cli/cmd/temporal@');
  });

  it('builds FerretDB when MONGO_URL does not answer and nothing else provides MongoDB', () => {
    fakeTool('temporal', `echo 'Flags: ${START_DEV_FLAGS}'`);
    const run = install({ MONGO_URL: 'mongodb://127.0.0.1:9/' });
    expect(run.output).toContain('ferretdb v');
    expect(run.goCalls).toMatch(/^go build -o .*ferretdb/m);
    expect(run.goCalls).not.toContain('temporalio/cli');
  });

  it('builds Mailpit at the pinned version when the cached build is missing or older', () => {
    fakeTool('temporal', `echo 'Flags: ${START_DEV_FLAGS}'`);
    writeFileSync(path.join(tools, '.mailpit.version'), 'v1.0.0\n');
    const run = install({ MONGO_URL: testEnv('mongoUrl') });
    expect(run.goCalls).toBe(`go install github.com/axllent/mailpit@${MAILPIT_VERSION}\n`);
    expect(run.status).not.toBe(0); // the fake go fails, and so does the script
  });

  it('uses a mailpit on PATH instead of building one', () => {
    fakeTool('temporal', `echo 'Flags: ${START_DEV_FLAGS}'`);
    fakeTool('mailpit', 'exit 0');
    rmSync(path.join(tools, '.mailpit.version'));
    const run = install({ MONGO_URL: testEnv('mongoUrl') });
    expect(run.output).toContain(`mailpit: using ${path.join(bin, 'mailpit')} from PATH`);
    expect(run.goCalls).toBe('');
    expect(run.status).toBe(0);
  });

  it('builds nothing when TEMPORAL_CLI_PATH and FERRETDB_PATH name executables', () => {
    fakeTool('my-temporal', 'exit 0');
    fakeTool('my-ferretdb', 'exit 0');
    const run = install({
      TEMPORAL_CLI_PATH: path.join(bin, 'my-temporal'),
      FERRETDB_PATH: path.join(bin, 'my-ferretdb'),
    });
    expect(run.output).toContain('temporal: using TEMPORAL_CLI_PATH=');
    expect(run.output).toContain('ferretdb: using FERRETDB_PATH=');
    expect(run.goCalls).toBe('');
    expect(run.status).toBe(0);
  });
});
