import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Db } from '../database.js';
import { enqueueOutbox, type OutboxEvent } from '../outbox/outbox.repository.js';
import { WalletError } from '../wallets/wallets.errors.js';
import {
  applyBalanceDelta,
  ensureSystemAccount,
  lockWallets,
  walletKinds,
} from '../wallets/wallets.repository.js';
import { cannotReceive, cannotSend, spendable } from '../wallets/wallets.service.js';
import type { SystemAccountName, WalletRow } from '../wallets/wallets.table.js';
import { journalHash } from './journal-hash.js';
import { LedgerError } from './ledger.errors.js';
import {
  advanceChainHead,
  findJournalTransaction,
  findReversalOf,
  insertJournalTransaction,
  insertPostings,
  lockChainHead,
  listPostingsOf,
  outgoingTransferVolume,
} from './ledger.repository.js';
import type { JournalKind, JournalTransactionRow, PostingRow } from './ledger.table.js';

/** One leg of a movement: `amount` > 0 credits the wallet, < 0 debits it. */
export interface Leg {
  walletId: string;
  amount: bigint;
  /** Change to the wallet's pending (held) amount in the same statement, e.g. a captured hold. */
  pendingDelta?: bigint;
}

export interface JournalInput {
  kind: JournalKind;
  currency: string;
  reference?: string | null;
  transferId?: string | null;
  holdId?: string | null;
  reversesId?: string | null;
  legs: Leg[];
}

export interface PostedTransaction {
  transaction: JournalTransactionRow;
  postings: PostingRow[];
  /** Wallet rows after the movement, by id. */
  wallets: Map<string, WalletRow>;
}

/**
 * Appends a balanced journal transaction: updates balances, chains the hash, inserts postings
 * and queues one history document per user-wallet posting — all in the caller's transaction.
 *
 * Lock order (the same everywhere, so no two transactions wait on each other in a cycle):
 * holds → user wallets in id order (the caller, via lockWallets) → system accounts in id order
 * (here) → the chain head, taken last so it is held only for the few inserts before commit.
 */
export async function postJournal(trx: Db, input: JournalInput): Promise<PostedTransaction> {
  const sum = input.legs.reduce((s, l) => s + l.amount, 0n);
  if (input.legs.length < 2 || sum !== 0n)
    throw new Error(`unbalanced journal transaction (${input.legs.length} legs, sum ${sum})`);

  const wallets = new Map<string, WalletRow>();
  const byId = [...input.legs].sort((a, b) =>
    a.walletId < b.walletId ? -1 : a.walletId > b.walletId ? 1 : 0,
  );
  const deltas = new Map<string, { posted: bigint; pending: bigint }>();
  for (const leg of byId) {
    const d = deltas.get(leg.walletId) ?? { posted: 0n, pending: 0n };
    d.posted += leg.amount;
    d.pending += leg.pendingDelta ?? 0n;
    deltas.set(leg.walletId, d);
  }
  // User wallets are already locked by the caller; system rows get locked by this update. Do
  // the users first so a system account is never locked before a user wallet.
  const ordered = [...deltas.keys()];
  const kindOf = await walletKinds(trx, ordered);
  for (const pass of ['user', 'system'] as const) {
    for (const id of ordered) {
      if (kindOf.get(id) !== pass) continue;
      const d = deltas.get(id)!;
      wallets.set(id, await applyBalanceDelta(trx, id, d.posted, d.pending));
    }
  }

  // Running balance per posting: the final posted minus the legs that come after it.
  const after = new Map<string, bigint>();
  const balances = input.legs.map(() => 0n);
  for (let i = input.legs.length - 1; i >= 0; i--) {
    const leg = input.legs[i]!;
    const current = after.get(leg.walletId) ?? wallets.get(leg.walletId)!.posted;
    balances[i] = current;
    after.set(leg.walletId, current - leg.amount);
  }

  const head = await lockChainHead(trx);
  const createdAt = new Date();
  const tx: JournalTransactionRow = {
    id: randomUUID(),
    seq: head.seq + 1n,
    kind: input.kind,
    currency: input.currency,
    reference: input.reference ?? null,
    transfer_id: input.transferId ?? null,
    hold_id: input.holdId ?? null,
    reverses_id: input.reversesId ?? null,
    created_at: createdAt,
    prev_hash: head.last_hash,
    hash: '',
  };
  const legs = input.legs.map((leg, position) => ({
    id: randomUUID(),
    transaction_id: tx.id,
    position,
    wallet_id: leg.walletId,
    currency: input.currency,
    amount: leg.amount,
    balance_after: balances[position]!,
    created_at: createdAt,
  }));
  tx.hash = journalHash(tx, legs);
  await insertJournalTransaction(trx, tx);
  const postings = await insertPostings(trx, legs);
  await advanceChainHead(trx, tx.seq, tx.hash);

  const events: OutboxEvent[] = [];
  for (const p of postings) {
    const w = wallets.get(p.wallet_id)!;
    if (w.kind !== 'user') continue;
    events.push({
      eventId: p.id,
      collection: 'transaction_history',
      document: {
        _id: p.id,
        seq: Number(p.seq),
        transaction_id: tx.id,
        wallet_id: p.wallet_id,
        user_id: w.user_id,
        currency: w.currency,
        amount: (p.amount < 0n ? -p.amount : p.amount).toString(),
        direction: p.amount < 0n ? 'debit' : 'credit',
        kind: tx.kind,
        balance_after: p.balance_after.toString(),
        transfer_id: tx.transfer_id,
        reference: tx.reference,
        reverses_transaction_id: tx.reverses_id,
        created_at: createdAt.toISOString(),
      },
    });
  }
  await enqueueOutbox(trx, events);
  return { transaction: tx, postings, wallets };
}

export interface MoneyMovementInput {
  walletId: string;
  amount: bigint;
  currency: string;
  reference: string;
}

export interface MovementResult {
  transactionId: string;
  wallet: WalletRow;
}

export interface LedgerService {
  /** funding → wallet. */
  deposit(trx: Db, input: MoneyMovementInput): Promise<MovementResult | WalletError>;
  /** wallet → settlement. */
  withdraw(trx: Db, input: MoneyMovementInput): Promise<MovementResult | WalletError>;
  /** A compensating transaction with every leg of the original negated. */
  reverse(trx: Db, transactionId: string, reason: string): Promise<{ transactionId: string } | LedgerError>;
  outgoingVolume(db: Db, userId: string, currency: string, since: Date): Promise<bigint>;
  systemAccount(name: SystemAccountName, currency: string): Promise<string>;
}

export function createLedgerService(deps: { db: Kysely<Database> }): LedgerService {
  const systemIds = new Map<string, string>();
  // Created on first use outside the request transaction, so a rolled-back request cannot
  // leave a cached id that does not exist.
  async function systemAccount(name: SystemAccountName, currency: string): Promise<string> {
    const key = `${name}:${currency}`;
    let id = systemIds.get(key);
    if (!id) {
      id = await ensureSystemAccount(deps.db, name, currency);
      systemIds.set(key, id);
    }
    return id;
  }

  return {
    systemAccount,
    async deposit(trx, input) {
      const funding = await systemAccount('funding', input.currency);
      const wallet = (await lockWallets(trx, [input.walletId])).get(input.walletId);
      const refused = cannotReceive(wallet, input.currency);
      if (refused) return refused;
      const posted = await postJournal(trx, {
        kind: 'deposit',
        currency: input.currency,
        reference: input.reference,
        legs: [
          { walletId: funding, amount: -input.amount },
          { walletId: input.walletId, amount: input.amount },
        ],
      });
      return { transactionId: posted.transaction.id, wallet: posted.wallets.get(input.walletId)! };
    },
    async withdraw(trx, input) {
      const settlement = await systemAccount('settlement', input.currency);
      const wallet = (await lockWallets(trx, [input.walletId])).get(input.walletId);
      const refused = cannotSend(wallet, input.currency);
      if (refused) return refused;
      if (spendable(wallet!) < input.amount) return WalletError.InsufficientFunds;
      const posted = await postJournal(trx, {
        kind: 'withdrawal',
        currency: input.currency,
        reference: input.reference,
        legs: [
          { walletId: input.walletId, amount: -input.amount },
          { walletId: settlement, amount: input.amount },
        ],
      });
      return { transactionId: posted.transaction.id, wallet: posted.wallets.get(input.walletId)! };
    },
    async reverse(trx, transactionId, reason) {
      const original = await findJournalTransaction(trx, transactionId, { lock: true });
      if (!original) return LedgerError.TransactionNotFound;
      if (original.kind === 'reversal' || (await findReversalOf(trx, transactionId)))
        return LedgerError.ReversalNotPossible;
      const legs = await listPostingsOf(trx, transactionId);
      const kinds = await walletKinds(
        trx,
        legs.map((l) => l.wallet_id),
      );
      const userIds = [...kinds].filter(([, kind]) => kind === 'user').map(([id]) => id);
      const locked = await lockWallets(trx, userIds);
      // Net effect per user wallet: a reversal that would push one below its limit, or touch a
      // frozen or closed wallet, is refused rather than half-applied.
      const net = new Map<string, bigint>();
      for (const l of legs) net.set(l.wallet_id, (net.get(l.wallet_id) ?? 0n) - l.amount);
      for (const [id, w] of locked) {
        if (w.status !== 'active') return LedgerError.ReversalNotPossible;
        if (spendable(w) + net.get(id)! < 0n) return LedgerError.ReversalNotPossible;
      }
      const posted = await postJournal(trx, {
        kind: 'reversal',
        currency: original.currency.trim(),
        reference: reason,
        transferId: original.transfer_id,
        reversesId: original.id,
        legs: legs.map((l) => ({ walletId: l.wallet_id, amount: -l.amount })),
      });
      return { transactionId: posted.transaction.id };
    },
    async outgoingVolume(db, userId, currency, since) {
      return outgoingTransferVolume(db, userId, currency, since);
    },
  };
}
