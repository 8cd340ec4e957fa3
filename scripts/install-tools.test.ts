import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testEnv } from '../test/support/test-env.js';

const SCRIPT = fileURLToPath(new URL('./install-tools.sh', import.meta.url));

/** The Mailpit release install-tools.sh pins. */
const MAILPIT_VERSION = /^MAILPIT_VERSION=(\S+)$/m.exec(readFileSync(SCRIPT, 'utf8'))![1]!;

/** Every flag of `temporal server start-dev` the stack passes (scripts/stack/temporal.ts). */
const START_DEV_FLAGS =
  '--ip --port --ui-port --ui-codec-endpoint --http-port --metrics-port --db-filename --namespace ' +
  '--log-level --sqlite-pragma --search-attribute --dynamic-config-value';

/**
 * What the machine's PATH would give the script, minus what the tests stand in for: the real
 * chromium (this machine may have it), apt-get and sudo (never run for real from a test).
 */
const HIDDEN_SYSTEM_TOOLS = new Set(['chromium', 'chromium-browser', 'apt-get', 'sudo']);
let system: string;

beforeAll(() => {
  system = mkdtempSync(path.join(tmpdir(), 'velora-install-tools-system-'));
  const folders = new Set(
    [path.dirname(process.execPath), '/usr/bin', '/bin'].filter(existsSync).map((d) => realpathSync(d)),
  );
  for (const folder of folders) {
    for (const name of readdirSync(folder)) {
      const link = path.join(system, name);
      if (HIDDEN_SYSTEM_TOOLS.has(name) || existsSync(link)) continue;
      symlinkSync(path.join(folder, name), link);
    }
  }
});
afterAll(() => rmSync(system, { recursive: true, force: true }));

let dir: string;
let bin: string;
let tools: string;
let goCalls: string;
let aptCalls: string;

/** An executable shell script in the fake bin folder. */
function fakeTool(name: string, body: string) {
  const file = path.join(bin, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

/** A passwordless sudo (used when the tests do not run as root): drops its `-n` and runs the rest. */
function fakeSudo() {
  fakeTool('sudo', 'shift; exec "$@"');
}

/**
 * Runs install-tools.sh with a `go` that records its arguments and fails (nothing is built for
 * real), an empty tools folder, and a PATH of the fake tools plus the system's (without chromium,
 * apt-get and sudo).
 */
function install(env: Record<string, string>) {
  const result = spawnSync('bash', [SCRIPT], {
    encoding: 'utf8',
    env: {
      HOME: dir,
      PATH: [bin, system].join(':'),
      VELORA_TOOLS_DIR: tools,
      ...env,
    },
  });
  const calls = readFileSync(goCalls, 'utf8');
  const apt = readFileSync(aptCalls, 'utf8');
  return { status: result.status, output: result.stdout + result.stderr, goCalls: calls, aptCalls: apt };
}

/** install-tools.sh with a Temporal CLI and a FerretDB given: only the browser is in question. */
function installWithGoTools() {
  fakeTool('my-temporal', 'exit 0');
  fakeTool('my-ferretdb', 'exit 0');
  return install({
    TEMPORAL_CLI_PATH: path.join(bin, 'my-temporal'),
    FERRETDB_PATH: path.join(bin, 'my-ferretdb'),
  });
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'velora-install-tools-'));
  bin = path.join(dir, 'bin');
  tools = path.join(dir, 'tools');
  goCalls = path.join(dir, 'go-calls');
  aptCalls = path.join(dir, 'apt-calls');
  mkdirSync(bin, { recursive: true });
  mkdirSync(tools, { recursive: true });
  writeFileSync(goCalls, '');
  writeFileSync(aptCalls, '');
  fakeTool('go', `echo "go $*" >> '${goCalls}'; exit 3`);
  // apt-get records its arguments and fails unless a test makes it install something.
  fakeTool('apt-get', `echo "apt-get $*" >> '${aptCalls}'; exit 100`);
  // A browser is present unless a test removes it.
  fakeTool('chromium', 'exit 0');
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
  it('installs nothing for the browser when chromium is on PATH', () => {
    const run = installWithGoTools();
    expect(run.output).toContain(`chromium: using ${path.join(bin, 'chromium')}`);
    expect(run.aptCalls).toBe('');
  });

  it("installs Debian's chromium with apt-get when there is none", () => {
    rmSync(path.join(bin, 'chromium'));
    // An apt-get that "installs" the package by putting a chromium on PATH.
    fakeTool(
      'apt-get',
      `echo "apt-get $*" >> '${aptCalls}'
case "$*" in *' install '*) printf '#!/bin/sh\\n' > '${path.join(bin, 'chromium')}'; chmod +x '${path.join(bin, 'chromium')}';; esac`,
    );
    fakeSudo();
    const run = installWithGoTools();
    const calls = run.aptCalls.trim().split('\n');
    expect(calls.at(-1)).toMatch(/apt-get .*install -y .*--no-install-recommends chromium$/);
    expect(calls.some((c) => / update( |$)/.test(c))).toBe(true);
    expect(run.output).toContain(`chromium: installed ${path.join(bin, 'chromium')}`);
    expect(run.status).toBe(0);
  });

  it('goes on without chromium when apt-get cannot install it, and says what needs it', () => {
    rmSync(path.join(bin, 'chromium'));
    fakeSudo();
    const run = installWithGoTools();
    expect(run.aptCalls).toContain('apt-get');
    expect(run.output).toContain('chromium could not be installed');
    expect(run.output).toContain('test/e2e/web-ui.test.ts needs it');
    expect(run.status).toBe(0);
  });
});
