import type { Db } from '../database.js';
import { WalletError } from '../wallets/wallets.errors.js';
import { ensureSystemAccount, findWallet, lockWallets, walletKinds } from '../wallets/wallets.repository.js';
import { cannotReceive, cannotSend, spendable } from '../wallets/wallets.service.js';
import { systemShardOf, type SystemAccountName, type WalletRow } from '../wallets/wallets.table.js';
import { LedgerError } from './ledger.errors.js';
import {
  findDepositReference,
  findJournalTransaction,
  findReversalOf,
  insertDepositReference,
  listPostingsOf,
  postJournalTransaction,
} from './ledger.repository.js';
import type { JournalKind } from './ledger.table.js';

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

/**
 * Appends a balanced journal transaction in the caller's transaction, in one round trip: balances,
 * postings, the sealer's queue and one history document per user-wallet posting
 * (`velora_post_journal`). Returns the journal transaction id.
 *
 * Lock order (the same everywhere, so no two transactions wait on each other in a cycle):
 * holds → user wallets in id order (the caller, via lockWallets) → system accounts in id order
 * (inside the function). There is no chain lock any more: the sealer chains committed
 * transactions afterwards (journal-sealer.ts).
 */
export async function postJournal(trx: Db, input: JournalInput): Promise<string> {
  const sum = input.legs.reduce((s, l) => s + l.amount, 0n);
  if (input.legs.length < 2 || sum !== 0n)
    throw new Error(`unbalanced journal transaction (${input.legs.length} legs, sum ${sum})`);
  return postJournalTransaction(trx, {
    kind: input.kind,
    currency: input.currency,
    reference: input.reference ?? null,
    transferId: input.transferId ?? null,
    holdId: input.holdId ?? null,
    reversesId: input.reversesId ?? null,
    legs: input.legs.map((l) => ({
      wallet_id: l.walletId,
      amount: l.amount.toString(),
      ...(l.pendingDelta ? { pending_delta: l.pendingDelta.toString() } : {}),
    })),
  });
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
  /** A deposit whose (wallet, reference) was already credited: this is the original, nothing moved. */
  repeated?: boolean;
}

export interface LedgerService {
  /**
   * funding → wallet, once per (wallet, reference): a repeat with the same amount and currency
   * answers the original deposit (`repeated`), another amount or currency `duplicate_reference`.
   */
  deposit(trx: Db, input: MoneyMovementInput): Promise<MovementResult | WalletError | LedgerError>;
  /** wallet → settlement. */
  withdraw(trx: Db, input: MoneyMovementInput): Promise<MovementResult | WalletError>;
  /** A compensating transaction with every leg of the original negated. */
  reverse(trx: Db, transactionId: string, reason: string): Promise<{ transactionId: string } | LedgerError>;
  /** The id of a system account's shard, created on first use in the caller's transaction. */
  systemAccount(db: Db, name: SystemAccountName, currency: string, shard?: number): Promise<string>;
}

export function createLedgerService(): LedgerService {
  const systemIds = new Map<string, string>();
  // Resolved in the request's own transaction (a second pool connection per request could starve
  // the pool under load), after the user wallet's lock (lock order: user wallets, then system
  // rows). Only an id that was already committed is cached: one created by this transaction
  // would vanish if it rolled back.
  async function systemAccount(db: Db, name: SystemAccountName, currency: string, shard = 0) {
    const key = `${name}:${currency}:${shard}`;
    const cached = systemIds.get(key);
    if (cached) return cached;
    const { id, created } = await ensureSystemAccount(db, name, currency, shard);
    if (!created) systemIds.set(key, id);
    return id;
  }

  return {
    systemAccount,
    async deposit(trx, input) {
      const wallet = (await lockWallets(trx, [input.walletId])).get(input.walletId);
      // Under the wallet's lock, so two deposits with one reference cannot both miss each other.
      const earlier = wallet && (await findDepositReference(trx, input.walletId, input.reference));
      if (earlier) {
        if (earlier.amount !== input.amount || earlier.currency !== input.currency)
          return LedgerError.DuplicateReference;
        return { transactionId: earlier.transaction_id, wallet, repeated: true };
      }
      const refused = cannotReceive(wallet, input.currency);
      if (refused) return refused;
      const funding = await systemAccount(trx, 'funding', input.currency, systemShardOf(input.walletId));
      const transactionId = await postJournal(trx, {
        kind: 'deposit',
        currency: input.currency,
        reference: input.reference,
        legs: [
          { walletId: funding, amount: -input.amount },
          { walletId: input.walletId, amount: input.amount },
        ],
      });
      await insertDepositReference(trx, {
        wallet_id: input.walletId,
        reference: input.reference,
        transaction_id: transactionId,
        amount: input.amount,
        currency: input.currency,
      });
      return { transactionId, wallet: (await findWallet(trx, input.walletId))! };
    },
    async withdraw(trx, input) {
      const wallet = (await lockWallets(trx, [input.walletId])).get(input.walletId);
      const refused = cannotSend(wallet, input.currency);
      if (refused) return refused;
      if (spendable(wallet!) < input.amount) return WalletError.InsufficientFunds;
      const settlement = await systemAccount(
        trx,
        'settlement',
        input.currency,
        systemShardOf(input.walletId),
      );
      const transactionId = await postJournal(trx, {
        kind: 'withdrawal',
        currency: input.currency,
        reference: input.reference,
        legs: [
          { walletId: input.walletId, amount: -input.amount },
          { walletId: settlement, amount: input.amount },
        ],
      });
      return { transactionId, wallet: (await findWallet(trx, input.walletId))! };
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
      const reversalId = await postJournal(trx, {
        kind: 'reversal',
        currency: original.currency.trim(),
        reference: reason,
        transferId: original.transfer_id,
        reversesId: original.id,
        legs: legs.map((l) => ({ walletId: l.wallet_id, amount: -l.amount })),
      });
      return { transactionId: reversalId };
    },
  };
}
