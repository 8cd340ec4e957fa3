import type { Kysely } from 'kysely';
import type { Db as MongoDb } from 'mongodb';
import type { AccessTokenVerifier, Principal } from '../../lib/jwt-verifier.js';
import type { Logger } from '../../lib/logger.js';
import type { Database } from '../database.js';

/** Hono environment of every wallet route: the authenticated caller. */
export interface WalletEnv {
  Variables: { principal: Principal };
}

/** What the routes need; built once in main.ts (or a test) and passed down. */
export interface WalletDeps {
  db: Kysely<Database>;
  mongo: MongoDb;
  verifier: AccessTokenVerifier;
  log: Logger;
  /** Called after a transaction that queued outbox rows committed (wakes the relay). */
  onCommitted?: () => void;
}
