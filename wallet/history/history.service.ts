import type { Db as MongoDb, Filter } from 'mongodb';
import { HISTORY, type HistoryDocument } from './history.collections.js';

/** The public shape of a history entry (docs/internal-api.md `Entry`). */
export interface EntryView {
  id: string;
  transaction_id: string;
  wallet_id: string;
  amount: string;
  currency: string;
  direction: 'debit' | 'credit';
  kind: string;
  balance_after: string;
  transfer_id?: string;
  reference: string | null;
  reverses_transaction_id: string | null;
  created_at: string;
}

export function toEntryView(doc: HistoryDocument): EntryView {
  return {
    id: doc._id,
    transaction_id: doc.transaction_id,
    wallet_id: doc.wallet_id,
    amount: doc.amount,
    currency: doc.currency,
    direction: doc.direction,
    kind: doc.kind,
    balance_after: doc.balance_after,
    ...(doc.transfer_id ? { transfer_id: doc.transfer_id } : {}),
    reference: doc.reference,
    reverses_transaction_id: doc.reverses_transaction_id,
    created_at: new Date(doc.created_at).toISOString(),
  };
}

/**
 * Opaque cursor: the posting sequence of the last entry returned. A user wallet's postings are
 * inserted while its row is locked (the balance update comes first), so per wallet the sequences
 * grow in commit order and a page never shifts when new entries arrive; the next page continues
 * strictly below the cursor.
 */
export function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ s: seq })).toString('base64url');
}

export function decodeCursor(cursor: string): number | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      parsed &&
      typeof parsed === 'object' &&
      's' in parsed &&
      Number.isSafeInteger(parsed.s) &&
      (parsed.s as number) > 0
    ) {
      return parsed.s as number;
    }
  } catch {
    // fall through: not a cursor we issued
  }
  return undefined;
}

export interface HistoryPage {
  items: EntryView[];
  next_cursor: string | null;
}

export interface HistoryService {
  /** Newest first; `before` is a decoded cursor. */
  list(walletId: string, limit: number, before?: number): Promise<HistoryPage>;
}

export function createHistoryService(deps: { mongo: MongoDb }): HistoryService {
  return {
    async list(walletId, limit, before) {
      const filter: Filter<HistoryDocument> = { wallet_id: walletId };
      if (before !== undefined) filter.seq = { $lt: before };
      const docs = await deps.mongo
        .collection<HistoryDocument>(HISTORY)
        .find(filter)
        .sort({ seq: -1 })
        .limit(limit + 1)
        .toArray();
      const page = docs.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(toEntryView),
        next_cursor: docs.length > limit && last ? encodeCursor(last.seq) : null,
      };
    },
  };
}
