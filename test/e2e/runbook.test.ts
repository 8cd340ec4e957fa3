import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../../scripts/stack/profile.js';
import { envExampleDefaults } from '../../scripts/stack/services.js';
import { requireTool } from '../../scripts/stack/tools.js';
import { api, eventually, login, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { requiredEnv } from '../support/test-env.js';

/**
 * Issue 11, item 8: the runbook is executed. Every `bash` block of docs/runbook.md runs here, in
 * document order, against the test stack: dev ports moved to the test profile's, placeholders
 * filled from real transfers, exit codes and the outputs an operator reads checked. A command
 * the docs get wrong (a flag the CLI does not have, a query visibility refuses, a tool the
 * machine cannot run) fails this test.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNBOOK = readFileSync(path.join(ROOT, 'docs/runbook.md'), 'utf8');

/** The fenced `bash` blocks, de-indented (list items indent theirs). */
function bashBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  for (const m of markdown.matchAll(/^( *)```bash\n([\s\S]*?)^\1```$/gm)) {
    const indent = m[1]!.length;
    blocks.push(
      m[2]!
        .split('\n')
        .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
        .join('\n'),
    );
  }
  return blocks;
}

/** The programs a runbook block may call; anything else must be taught to this test first. */
const KNOWN_COMMAND =
  /^(#|temporal |curl |node --import tsx scripts\/ops\/|export |TOKEN=|ORCHESTRATOR_|AUTH_URL=|\s)/;

const DEV = PROFILES.dev.ports;
const TEST = PROFILES.test.ports;
const PORT_MAP = new Map<number, number>(
  (Object.keys(DEV) as (keyof typeof DEV)[]).map((k) => [DEV[k], TEST[k]]),
);

/** A dev-stack command as it runs against the test stack. */
function forTestStack(command: string, fill: Record<string, string>): string {
  let out = command.replace(/127\.0\.0\.1:(\d+)/g, (all, port: string) => {
    const mapped = PORT_MAP.get(Number(port));
    return mapped ? `127.0.0.1:${mapped}` : all;
  });
  const devSecret = envExampleDefaults().ORCHESTRATOR_CLIENT_SECRET!;
  out = out.replaceAll(devSecret, requiredEnv('TEST_STACK_ORCHESTRATOR_CLIENT_SECRET'));
  for (const [placeholder, value] of Object.entries(fill)) out = out.replaceAll(placeholder, value);
  return out;
}

/** The codec variables an `export` line of a block left in its shell. */
function exportedCodecVars(env: string): Record<string, string> {
  return Object.fromEntries(
    env
      .split('\n')
      .map((line) => /^(TEMPORAL_CODEC_[A-Z_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const temporalBin = path.dirname(requireTool('temporal'));

function run(script: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-eo', 'pipefail', '-c', script],
      {
        cwd: ROOT,
        timeout: 60_000,
        env: {
          ...process.env,
          PATH: `${temporalBin}${path.delimiter}${process.env.PATH ?? ''}`,
          CODEC_TOKEN: envExampleDefaults().CODEC_SERVER_OPERATOR_TOKEN,
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('docs/runbook.md, executed', () => {
  const blocks = bashBlocks(RUNBOOK);
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let completedId: string;
  let connection: Connection;
  let temporal: Client;

  async function transfer(amount: string, wait = 'wait=10') {
    const res = await api<{ id: string; status: string }>('POST', '/v1/transfers', {
      token: alice.token,
      idempotencyKey: randomUUID(),
      headers: { prefer: wait },
      body: { from_wallet_id: alice.walletId, to_wallet_id: bob.walletId, amount, currency: 'USD' },
    });
    expect([200, 202]).toContain(res.status);
    return res.body;
  }

  /** A transfer holding funds while it waits for its step-up code: still cancellable. */
  async function awaitingTransfer(): Promise<string> {
    const t = await transfer('100000');
    expect(t.status).toBe('awaiting_confirmation');
    return t.id;
  }

  async function status(id: string) {
    return (
      await api<{ status: string; failure_code?: string }>('GET', `/v1/transfers/${id}`, {
        token: alice.token,
      })
    ).body;
  }

  beforeAll(async () => {
    [alice, bob] = await Promise.all([registerAndLogin('runbook-alice'), registerAndLogin('runbook-bob')]);
    const admin = await login(
      requiredEnv('TEST_STACK_ADMIN_EMAIL'),
      requiredEnv('TEST_STACK_ADMIN_PASSWORD'),
    );
    const reference = `runbook-${randomUUID()}`;
    const deposit = await api('POST', `/v1/admin/wallets/${alice.walletId}/deposits`, {
      token: admin,
      idempotencyKey: reference,
      body: { amount: '1000000', currency: 'USD', reference },
    });
    expect(deposit.status).toBe(201);
    const completed = await transfer('700');
    expect(completed.status).toBe('completed');
    completedId = completed.id;
    connection = await Connection.connect({ address: requiredEnv('TEST_STACK_TEMPORAL_ADDRESS') });
    temporal = new Client({ connection });
  });
  afterAll(async () => {
    await connection?.close();
  });

  it('has operator commands, each of a kind this test knows how to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    for (const block of blocks) {
      for (const line of block.split('\n').filter((l) => l.trim() !== '')) {
        expect(line, `unknown command in docs/runbook.md: ${line}`).toMatch(KNOWN_COMMAND);
      }
    }
  });

  it('runs every bash block against the test stack', async () => {
    const fill = {
      '<user id>': alice.userId,
      '<wallet id>': alice.walletId,
      // drain-check's --before, which an operator takes from the deploy log: the 2026-12-01
      // release's deploy, before anything this stack ran.
      '<time>': '2026-12-01T17:12:22Z',
    };
    let terminatedId: string | undefined;
    let checkBlock: string | undefined;
    // The test Temporal server is shared with the unit tests' workflows: check this run's only.
    const since = { SINCE: new Date(Date.now() - 60_000).toISOString() };
    // One operator shell: what a block exports holds for the blocks after it.
    let session: Record<string, string> = { ...since };

    for (const block of blocks) {
      let id = completedId;
      let expectedCode = 0;
      const cancels = /cancelTransfer|workflow cancel /.test(block);
      if (cancels || block.includes('retryCompensation')) id = await awaitingTransfer();
      if (block.includes('scripts/ops/terminated-transfers.ts')) {
        // What the check exists for: a transfer stopped while it held funds.
        terminatedId = await awaitingTransfer();
        await temporal.workflow.getHandle(`transfer-${terminatedId}`).terminate('runbook test');
        checkBlock = block;
        expectedCode = 1;
      }
      if (block.includes('/release')) {
        expect(terminatedId, 'the release block follows the terminated-transfers check').toBeDefined();
        id = terminatedId!;
      }
      const script = forTestStack(block, { ...fill, '<id>': id });
      expect(script, 'every placeholder is filled').not.toMatch(/<[a-z ]+>/);
      const result = await run(`${script}\necho; echo '--- session'; env`, session);
      const [, exported = ''] = result.stdout.split('\n--- session\n');
      result.stdout = result.stdout.split('\n--- session\n')[0]!;
      if (result.code === 0) session = { ...session, ...exportedCodecVars(exported) };
      expect(result.code, `${script}\n${result.stderr}\n${result.stdout}`).toBe(expectedCode);

      if (block.includes('--type getTransfer')) {
        // Decoded through the codec server: the operator reads the transfer, not ciphertext.
        expect(result.stdout).toContain(completedId);
        expect(result.stdout).toContain('completed');
      }
      if (expectedCode === 1) {
        const report = JSON.parse(result.stdout) as {
          ok: boolean;
          flagged: { transfer_id: string; finding: string }[];
        };
        expect(report.ok).toBe(false);
        expect(report.flagged).toContainEqual(
          expect.objectContaining({ transfer_id: terminatedId, finding: 'hold_active' }),
        );
        expect(await status(terminatedId!)).toMatchObject({ status: 'failed', failure_code: 'terminated' });
      }
      if (cancels) {
        const done = await eventually(
          () => status(id),
          (t) => t.status === 'cancelled',
        );
        expect(done.status).toBe('cancelled');
      }
    }

    // After the documented release the terminated transfer holds nothing: the check clears it.
    expect(checkBlock).toBeDefined();
    const again = await run(forTestStack(checkBlock!, fill), since);
    const report = JSON.parse(again.stdout) as { flagged: { transfer_id: string }[] };
    expect(report.flagged.map((f) => f.transfer_id)).not.toContain(terminatedId);
  });
});
