import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackupDrill } from '../../scripts/ops/backup-drill.js';
import { temporalDbFile, type BackupEntry } from '../../scripts/ops/backup.js';
import { ADMIN_URL } from '../../scripts/stack/infrastructure.js';
import { stackDir } from '../../scripts/stack/paths.js';
import { PROFILES } from '../../scripts/stack/profile.js';
import { httpOk } from '../../scripts/stack/processes.js';
import { stackDown, stackUp } from '../../scripts/stack/stack.js';
import type { Transfer } from '../../workflows/transfer-contract.js';
import { api, login, type RegisteredUser } from '../support/api-client.js';
import { expectCleanBooks } from '../support/books.js';
import { requiredEnv, TEST_ENV } from '../support/test-env.js';
import { fundedPair, sendTransfer, untilStatus } from '../support/transfers.js';

interface Wallet {
  balance: { posted: string; pending: string; available: string };
}

/**
 * The restore drill (scripts/ops/backup-drill.ts) on the scratch profile's own stack: its own
 * Temporal, FerretDB, databases and ports, so the test stack and the Temporal and FerretDB that
 * every unit test shares are never touched. Started here and stopped afterwards — unless the e2e
 * run itself is on the scratch profile (VELORA_E2E_PROFILE=scratch), whose stack the later files
 * still need: then the drill leaves it running, restored.
 */
const scratch = PROFILES.scratch;
const e2eOnScratch = requiredEnv('TEST_STACK_PROFILE') === scratch.name;
const drillLog = path.join(stackDir(scratch.name), 'backup-drill.log');

describe('backup and restore drill', () => {
  const backupDir = mkdtempSync(path.join(tmpdir(), 'velora-backup-e2e-'));
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    // The fresh start empties only the scratch stores; the API helpers then talk to scratch.
    await stackUp(scratch, { fresh: !e2eOnScratch, log: (line) => appendFileSync(drillLog, `${line}\n`) });
    Object.assign(process.env, {
      [TEST_ENV.gatewayUrl]: `http://127.0.0.1:${scratch.ports.gateway}`,
      [TEST_ENV.authUrl]: `http://127.0.0.1:${scratch.ports.auth}`,
      [TEST_ENV.walletUrl]: `http://127.0.0.1:${scratch.ports.wallet}`,
    });
    ({ payer: alice, payee: bob } = await fundedPair('drill', '90000'));
  });

  afterAll(async () => {
    if (!e2eOnScratch) await stackDown(scratch, () => undefined);
    rmSync(backupDir, { recursive: true, force: true });
  });

  it(
    'backs up, destroys, restores and reconciles clean, and every transfer and balance reads back the same',
    { timeout: 900_000 },
    async () => {
      const transfers: { transfer: Transfer; payer: RegisteredUser }[] = [];
      for (const [from, to, amount] of [
        [alice, bob, '12500'],
        [alice, bob, '3000'],
        [bob, alice, '1000'],
      ] as const) {
        const res = await sendTransfer(from, to, amount);
        expect([200, 201, 202], JSON.stringify(res.body)).toContain(res.status);
        transfers.push({ transfer: res.body, payer: from });
      }
      for (const { transfer, payer } of transfers) {
        const settled = await untilStatus(payer, transfer.id);
        expect(settled.body.amount).toBe(transfer.amount);
      }
      await expectCleanBooks();
      const balance = async (user: RegisteredUser) =>
        (await api<Wallet>('GET', `/v1/wallets/${user.walletId}`, { token: user.token })).body.balance;
      expect((await balance(alice)).posted).toBe(String(90_000 - 12_500 - 3_000 + 1_000));

      // Money that moves between the MongoDB copy and the wallet's: the wallet backup holds its
      // postings and their outbox rows marked relayed, the MongoDB backup lacks the documents.
      // The restore must re-send them, or reconciliation reports them missing.
      let midBackup: Transfer | undefined;
      const drillLines: string[] = [];
      const afterCopy = async (entry: BackupEntry) => {
        if (entry.store !== 'mongo') return;
        const res = await sendTransfer(alice, bob, '700');
        expect([200, 201, 202]).toContain(res.status);
        midBackup = res.body;
        await untilStatus(alice, res.body.id);
        // Waits for the relay: MongoDB (live) has the documents now, and the wallet copy will hold
        // their outbox rows marked relayed (clean books alone can come before the relay ran).
        await expectCleanBooks({ relayed: true });
      };
      let before: { alice: Wallet['balance']; bob: Wallet['balance'] } | undefined;

      const { manifest, reconciliation } = await runBackupDrill({
        backupDir,
        afterCopy: async (entry) => {
          await afterCopy(entry);
          if (entry.store === 'mongo') before = { alice: await balance(alice), bob: await balance(bob) };
        },
        log: (line) => {
          drillLines.push(line);
          appendFileSync(drillLog, `${line}\n`);
        },
        // While the stores are gone, they really are: no database, no Temporal file, no service.
        onDestroyed: async (profile) => {
          const client = new pg.Client({ connectionString: ADMIN_URL });
          await client.connect();
          try {
            const left = await client.query('select datname from pg_database where datname = any($1)', [
              Object.values(profile.databases),
            ]);
            expect(left.rows).toEqual([]);
          } finally {
            await client.end();
          }
          expect(existsSync(temporalDbFile(profile))).toBe(false);
          expect(await httpOk(`http://127.0.0.1:${profile.ports.gateway}/readyz`)).toBe(false);
        },
      });
      expect(manifest.entries.map((e) => e.store)).toEqual(['temporal', 'auth', 'mongo', 'wallet']);
      expect(midBackup).toBeDefined();
      const resent = /wallet outbox: ([0-9]+) rows/.exec(drillLines.join('\n'));
      expect(Number(resent?.[1])).toBeGreaterThan(0);
      expect(reconciliation.discrepancies).toEqual([]);
      expect(reconciliation.ok).toBe(true);

      // The same people sign in with the same passwords, and read the same transfers and balances.
      alice.token = await login(alice.email, alice.password);
      bob.token = await login(bob.email, bob.password);
      for (const { transfer, payer } of transfers) {
        const read = await api<Transfer>('GET', `/v1/transfers/${transfer.id}`, { token: payer.token });
        expect(read.status).toBe(200);
        expect(read.body).toMatchObject({ id: transfer.id, status: 'completed', amount: transfer.amount });
      }
      // The wallet was copied last: it holds the mid-backup transfer too.
      expect(before!.alice.posted).toBe(String(90_000 - 12_500 - 3_000 + 1_000 - 700));
      expect({ alice: await balance(alice), bob: await balance(bob) }).toEqual(before);
      await expectCleanBooks();

      // And the restored system keeps working: a new transfer settles on top of the restored books.
      const after = await sendTransfer(alice, bob, '500');
      expect([200, 201, 202]).toContain(after.status);
      await untilStatus(alice, after.body.id);
      expect((await balance(alice)).posted).toBe(String(BigInt(before!.alice.posted) - 500n));
      await expectCleanBooks();
    },
  );
});
