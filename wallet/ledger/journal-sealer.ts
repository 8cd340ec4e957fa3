import { sql, type Kysely } from 'kysely';
import { createBatchLoop, type BatchLoop } from '../../lib/batch-loop.js';
import { YIELD_EVERY, yieldToEventLoop } from '../../lib/drain-loop.js';
import type { Logger } from '../../lib/logger.js';
import type { Database } from '../database.js';
import { chainHead } from './journal-anchors.js';
import { CURRENT_HASH_VERSION, GENESIS_HASH, journalHash, type HashVersion } from './journal-hash.js';
import { hashedPostingsOf } from './ledger.repository.js';
import type { JournalSealRow } from './ledger.table.js';

/** Any constant unique to this database (the migration lock uses another one). */
const SEALER_LOCK = 0x5ea1_0001;

export interface JournalSealerOptions {
  db: Kysely<Database>;
  log: Logger;
  /** Journal transactions sealed per database transaction. */
  batchSize?: number;
  /** The hash version of new seals (tests seal older versions to prove they still verify). */
  hashVersion?: HashVersion;
}

export interface JournalSealer extends BatchLoop {
  /** Seals one batch; returns how many it sealed (0 also when another sealer is active). */
  sealOnce(): Promise<number>;
  /** Seals until nothing committed is left unsealed. */
  sealAll(): Promise<number>;
}

/**
 * Chains committed journal transactions off the commit path. Postings commit without any global
 * lock; this sealer then assigns each committed, unsealed transaction the next sequence number
 * and hash (`journalHash`, current version, over its content, its postings and the previous hash) and appends them
 * to `journal_seals`, removing them from the `journal_unsealed` queue in the same transaction.
 * A transaction-scoped advisory lock keeps one sealer active at a time across all service
 * copies, so the chain stays linear; a sealer that dies mid-batch rolls back and the next one
 * seals the same transactions.
 */
export function createJournalSealer(options: JournalSealerOptions): JournalSealer {
  const { db, log } = options;
  const batchSize = options.batchSize ?? 500;
  const hashVersion = options.hashVersion ?? CURRENT_HASH_VERSION;

  async function sealOnce(): Promise<number> {
    return db.transaction().execute(async (trx) => {
      const { rows } = await sql<{
        ok: boolean;
      }>`select pg_try_advisory_xact_lock(${SEALER_LOCK}) as ok`.execute(trx);
      if (!rows[0]?.ok) return 0;
      const queue = await trx
        .selectFrom('journal_unsealed as u')
        .innerJoin('journal_transactions as t', 't.id', 'u.transaction_id')
        .selectAll('t')
        .orderBy('u.created_at')
        .orderBy('u.transaction_id')
        .limit(batchSize)
        .execute();
      if (queue.length === 0) return 0;
      const ids = queue.map((t) => t.id);
      const byTx = await hashedPostingsOf(trx, ids);
      const head = await chainHead(trx);
      let seq = head?.seq ?? 0n;
      let prevHash = head?.hash ?? GENESIS_HASH;
      const seals: Omit<JournalSealRow, 'sealed_at'>[] = [];
      for (const [i, tx] of queue.entries()) {
        // Hashing 500 transactions is one long synchronous stretch otherwise (lib/drain-loop.ts).
        if (i > 0 && i % YIELD_EVERY === 0) await yieldToEventLoop();
        seq += 1n;
        const hash = journalHash({ ...tx, seq, prev_hash: prevHash }, byTx.get(tx.id) ?? [], hashVersion);
        seals.push({ seq, transaction_id: tx.id, prev_hash: prevHash, hash, hash_version: hashVersion });
        prevHash = hash;
      }
      await trx.insertInto('journal_seals').values(seals).execute();
      await trx.deleteFrom('journal_unsealed').where('transaction_id', 'in', ids).execute();
      return seals.length;
    });
  }

  const loop = createBatchLoop({
    runOnce: sealOnce,
    batchSize,
    onError: (err) => log.warn({ err }, 'journal sealing failed; retrying on the next tick'),
  });

  return {
    sealOnce,
    async sealAll() {
      let total = 0;
      for (;;) {
        const n = await sealOnce();
        total += n;
        if (n === 0) {
          // 0 also means another sealer holds the lock: wait for it unless nothing is queued.
          const left = await db
            .selectFrom('journal_unsealed')
            .select(sql<string>`count(*)`.as('n'))
            .executeTakeFirstOrThrow();
          if (Number(left.n) === 0) return total;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    },
    start: loop.start,
    kick: loop.kick,
    stop: loop.stop,
  };
}
