import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createDb } from '../../lib/db.js';
import { createLogger } from '../../lib/logger.js';
import { ensureDatabase } from '../../scripts/stack/infrastructure.js';
import { pgUrl } from '../../scripts/stack/profile.js';
import { createTestIssuer } from '../../test/support/tokens.js';
import { testEnv } from '../../test/support/test-env.js';
import { createWalletApp } from '../app.js';
import type { Database } from '../database.js';
import { ensureMongoIndexes } from '../history/history.collections.js';
import { createJournalSealer } from '../ledger/journal-sealer.js';
import { migrateWalletDb } from '../migrations/migrate-wallet-db.js';
import { createOutboxRelay, type OutboxRelayOptions } from '../outbox/outbox.relay.js';

export interface CallOptions {
  body?: unknown;
  key?: string;
  token?: string;
}

export interface CallResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read JSON bodies freely
  body: any;
  headers: Headers;
}

/**
 * Everything a wallet test needs against the real PostgreSQL and MongoDB wire server of the
 * test stack: the app (driven with app.request), a relay, tokens and small helpers.
 */
export async function createWalletHarness(
  options: {
    relay?: Partial<OutboxRelayOptions>;
    poolMax?: number;
    /**
     * A private PostgreSQL database and MongoDB database, recreated empty, for a test file that
     * damages the books on purpose (`name` must be unique to that file).
     */
    isolated?: string;
  } = {},
) {
  let url = testEnv('walletDatabaseUrl');
  const isolatedName = options.isolated ? `velora_wallet_test_${options.isolated}` : undefined;
  if (isolatedName) {
    await ensureDatabase('velora_wallet', isolatedName, { fresh: true });
    url = pgUrl('velora_wallet', isolatedName);
  }
  const { db } = createDb<Database>(url, { max: options.poolMax ?? 20, name: 'wallet-test' });
  await migrateWalletDb(db);
  const mongoClient = new MongoClient(testEnv('mongoUrl'));
  await mongoClient.connect();
  const mongo = mongoClient.db(isolatedName ?? testEnv('mongoDb'));
  if (isolatedName) await mongo.dropDatabase();
  await ensureMongoIndexes(mongo);
  const issuer = await createTestIssuer();
  const log = createLogger('wallet-test', 'silent');
  const relay = createOutboxRelay({ db, mongo, log, ...options.relay });
  const sealer = createJournalSealer({ db, log });
  const { app, services } = createWalletApp({
    db,
    mongo,
    verifier: issuer.verifier,
    log,
  });
  const token = await issuer.serviceToken('wallet:read wallet:write wallet:admin');

  async function call(method: string, path: string, opts: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? token}` };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
    const res = await app.request(path, {
      method,
      headers,
      body:
        opts.body === undefined
          ? undefined
          : typeof opts.body === 'string'
            ? opts.body
            : JSON.stringify(opts.body),
    });
    const text = await res.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    return { status: res.status, body, headers: res.headers };
  }

  /**
   * A fresh user's wallet (or `owner.userId`'s), optionally funded by a deposit. `owner.token`
   * is for a caller that outlives the harness's own 5-minute token (the fuzzer's renewed one).
   */
  async function wallet(
    currency = 'USD',
    funded = 0n,
    owner: { userId?: string; token?: string } = {},
  ): Promise<string> {
    const res = await call('POST', '/internal/wallets', {
      body: { user_id: owner.userId ?? randomUUID(), currency },
      key: randomUUID(),
      token: owner.token,
    });
    if (res.status !== 201) throw new Error(`wallet creation answered ${res.status}`);
    const id = String((res.body as { id: string }).id);
    if (funded > 0n) {
      const dep = await call('POST', `/internal/wallets/${id}/deposits`, {
        body: { amount: funded.toString(), currency, reference: 'test funding' },
        key: randomUUID(),
        token: owner.token,
      });
      if (dep.status !== 201) throw new Error(`deposit answered ${dep.status}: ${JSON.stringify(dep.body)}`);
    }
    return id;
  }

  async function balance(id: string): Promise<{ posted: string; pending: string; available: string }> {
    const res = await call('GET', `/internal/wallets/${id}`);
    return (res.body as { balance: { posted: string; pending: string; available: string } }).balance;
  }

  /**
   * Places a transfer hold on `walletId` the way the orchestrator does (the reserve route), to
   * `to` or a fresh wallet of the source's currency, with limits that never refuse. `body` is
   * the hold on success, the problem otherwise.
   */
  async function hold(
    walletId: string,
    amount: unknown,
    opts: { to?: string; currency?: string; transferId?: string; key?: string; ttlSeconds?: number } = {},
  ): Promise<CallResult & { transferId: string }> {
    const source = await call('GET', `/internal/wallets/${walletId}`);
    const owner = source.status === 200 ? (source.body as { user_id: string; currency: string }) : undefined;
    const currency = opts.currency ?? owner?.currency ?? 'USD';
    const transferId = opts.transferId ?? randomUUID();
    const res = await call('POST', `/internal/transfers/${transferId}/reserve`, {
      body: {
        user_id: owner?.user_id ?? randomUUID(),
        from_wallet_id: walletId,
        to_wallet_id: opts.to ?? (await wallet(owner?.currency ?? currency)),
        amount,
        currency,
        limits: { per_transfer: '1000000000000', daily: '1000000000000' },
        hold_ttl_seconds: opts.ttlSeconds ?? 900,
      },
      key: opts.key ?? randomUUID(),
    });
    const body: unknown = res.status === 201 ? (res.body as { hold: unknown }).hold : res.body;
    return { ...res, body, transferId };
  }

  return {
    wallet,
    balance,
    hold,
    /** Where this harness's data lives, for child processes (the service, the reconcile command). */
    env: { WALLET_DATABASE_URL: url, MONGO_URL: testEnv('mongoUrl'), WALLET_MONGO_DB: mongo.databaseName },
    db,
    mongo,
    app,
    services,
    relay,
    sealer,
    issuer,
    token,
    call,
    async close() {
      await mongoClient.close();
      await db.destroy();
    },
  };
}

export type WalletHarness = Awaited<ReturnType<typeof createWalletHarness>>;
