import type { Db as MongoDb } from 'mongodb';
import type { Logger } from '../../lib/logger.js';

/** One document per posting on a user wallet; `_id` is the posting id. */
export interface HistoryDocument {
  _id: string;
  seq: number;
  transaction_id: string;
  wallet_id: string;
  user_id: string;
  currency: string;
  amount: string;
  direction: 'debit' | 'credit';
  kind: string;
  balance_after: string;
  transfer_id: string | null;
  reference: string | null;
  reverses_transaction_id: string | null;
  created_at: Date;
}

export const HISTORY = 'transaction_history';
export const AUTH_LOG = 'transaction_auth_log';
export const AUDIT_TRACE = 'audit_trace';

/**
 * Creates the indexes the read paths use. Plain single-collection indexes only: they exist on
 * MongoDB and on FerretDB 1.24 alike.
 */
export async function ensureMongoIndexes(mongo: MongoDb): Promise<void> {
  await mongo.collection(HISTORY).createIndex({ wallet_id: 1, seq: -1 }, { name: 'wallet_seq' });
  await mongo.collection(HISTORY).createIndex({ transaction_id: 1 }, { name: 'transaction' });
  await mongo.collection(AUTH_LOG).createIndex({ transfer_id: 1 }, { name: 'transfer' });
  await mongo.collection(AUDIT_TRACE).createIndex({ workflow_id: 1, recorded_at: 1 }, { name: 'workflow' });
}

/** Backoff of {@link ensureMongoIndexesEventually}: quick at first, then every 30 s at most. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30_000;

/** Retries {@link ensureMongoIndexes} until it succeeds or `signal` aborts (service start). */
export async function ensureMongoIndexesEventually(
  mongo: MongoDb,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  for (let delay = FIRST_RETRY_MS; !signal.aborted; delay = Math.min(delay * 2, MAX_RETRY_MS)) {
    try {
      await ensureMongoIndexes(mongo);
      return;
    } catch (err) {
      log.warn({ err, retryInMs: delay }, 'MongoDB indexes not ensured yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
  }
}
