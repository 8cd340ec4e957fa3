/**
 * Operator command: `node --import tsx wallet/reconciliation/reconcile.command.ts [--incremental]
 * [--max-transactions N]`. Reads the same environment as the service (WALLET_DATABASE_URL,
 * MONGO_URL, WALLET_MONGO_DB), prints the report as JSON and exits 0 when the books are clean,
 * 1 when there is any discrepancy, 2 on error. A clean run stores a checkpoint; `--incremental`
 * verifies only what changed since the last one (a full run when there is none yet).
 */
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { createDb } from '../../lib/db.js';
import { loadWalletConfig } from '../config.js';
import type { Database } from '../database.js';
import { createReconciliationService } from './reconciliation.service.js';

/** An unreachable MongoDB fails the run within this, instead of the driver's 30 s. */
const MONGO_SELECTION_TIMEOUT_MS = 10_000;

async function reconcile(): Promise<number> {
  const { values } = parseArgs({
    options: { incremental: { type: 'boolean', default: false }, 'max-transactions': { type: 'string' } },
  });
  const maxTransactions =
    values['max-transactions'] === undefined ? undefined : Number(values['max-transactions']);
  if (maxTransactions !== undefined && !(Number.isInteger(maxTransactions) && maxTransactions > 0)) {
    throw new Error('--max-transactions takes a positive integer');
  }
  const config = loadWalletConfig();
  const { db } = createDb<Database>(config.WALLET_DATABASE_URL, { max: 2, name: 'velora-wallet-reconcile' });
  const mongoClient = new MongoClient(config.MONGO_URL, {
    serverSelectionTimeoutMS: MONGO_SELECTION_TIMEOUT_MS,
  });
  try {
    await mongoClient.connect();
    const report = await createReconciliationService({
      db,
      mongo: mongoClient.db(config.WALLET_MONGO_DB),
    }).run({ mode: values.incremental ? 'incremental' : 'full', storeCheckpoint: true, maxTransactions });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    await mongoClient.close();
    await db.destroy();
  }
}

reconcile().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
