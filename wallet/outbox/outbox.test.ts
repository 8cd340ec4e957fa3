import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../test/support/test-env.js';
import { HISTORY } from '../history/history.collections.js';
import { createOutboxRelay } from './outbox.relay.js';
import { createWalletHarness, type WalletHarness } from '../testing/wallet-harness.js';
import { createLogger } from '../../lib/logger.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let h: WalletHarness;
beforeAll(async () => {
  h = await createWalletHarness();
});
afterAll(async () => {
  await h.close();
});

async function userPostingIds(walletIds: string[]): Promise<string[]> {
  const rows = await h.db.selectFrom('postings').select('id').where('wallet_id', 'in', walletIds).execute();
  return rows.map((r) => r.id);
}

/** Every posting of these wallets is in MongoDB exactly once, and nothing else is. */
async function expectExactlyOnce(walletIds: string[]) {
  const ids = await userPostingIds(walletIds);
  const docs = await h.mongo
    .collection<{ _id: string }>(HISTORY)
    .find({ wallet_id: { $in: walletIds } }, { projection: { _id: 1 } })
    .toArray();
  expect(docs).toHaveLength(ids.length);
  expect(new Set(docs.map((d) => d._id))).toEqual(new Set(ids));
}

async function depositMany(wallets: number, each: number): Promise<string[]> {
  const ids = await Promise.all(Array.from({ length: wallets }, () => h.wallet('USD')));
  await Promise.all(
    ids.map(async (id) => {
      for (let i = 0; i < each; i++) {
        const res = await h.call('POST', `/internal/wallets/${id}/deposits`, {
          body: { amount: String(i + 1), currency: 'USD', reference: `crash test ${i}` },
          key: randomUUID(),
        });
        if (res.status !== 201) throw new Error(`deposit answered ${res.status}`);
      }
    }),
  );
  return ids;
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function startWalletProcess(port: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'wallet/main.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      LOG_LEVEL: 'error',
      WALLET_HOST: '127.0.0.1',
      WALLET_PORT: String(port),
      WALLET_DATABASE_URL: testEnv('walletDatabaseUrl'),
      MONGO_URL: testEnv('mongoUrl'),
      WALLET_MONGO_DB: testEnv('mongoDb'),
      WALLET_RELAY_INTERVAL_MS: '20',
      WALLET_RELAY_BATCH_SIZE: '10',
      WALLET_DB_POOL_MAX: '4',
    },
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

describe('outbox relay', () => {
  it('a relay that dies after writing to MongoDB but before marking rows re-sends without duplicates', async () => {
    const wallets = await depositMany(2, 5);
    const crashing = createOutboxRelay({
      db: h.db,
      mongo: h.mongo,
      log: createLogger('crash', 'silent'),
      afterMongoWrite: async () => {
        throw new Error('simulated crash between the MongoDB write and the commit');
      },
    });
    await expect(crashing.drainAll()).rejects.toThrow('simulated crash');
    await h.relay.drainAll();
    await expectExactlyOnce(wallets);
  });

  it('SIGKILL of the service mid-drain, then restart: every entry in MongoDB exactly once', async () => {
    const wallets = await depositMany(10, 20);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const first = startWalletProcess(port);
    // Kill as soon as the first documents of this test reach MongoDB: the relay is mid-drain.
    await until(
      'the relay to start writing',
      async () => (await h.mongo.collection(HISTORY).countDocuments({ wallet_id: { $in: wallets } })) > 0,
    );
    first.kill('SIGKILL');
    await exited(first);
    const second = startWalletProcess(port);
    try {
      await until(
        'the health endpoint',
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
      );
      const expected = (await userPostingIds(wallets)).length;
      await until(
        'all entries relayed',
        async () =>
          (await h.mongo.collection(HISTORY).countDocuments({ wallet_id: { $in: wallets } })) >= expected,
      );
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^wallet_outbox_lag_seconds\{[^}]*\} \d/m);
    } finally {
      second.kill('SIGTERM');
      await exited(second);
    }
    await expectExactlyOnce(wallets);
    expect(
      await h.db
        .selectFrom('outbox')
        .select('id')
        .where('relayed_at', 'is', null)
        .where('collection', '=', 'transaction_history')
        .where('event_id', 'in', await userPostingIds(wallets))
        .execute(),
    ).toHaveLength(0);
  });
});
