import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../database.js';
import { HoldError } from '../holds/holds.errors.js';
import { finishHold, lockHold } from '../holds/holds.repository.js';
import { postJournal } from '../ledger/ledger.service.js';
import { enqueueOutbox } from '../outbox/outbox.repository.js';
import { transferLedgerState } from '../transfers/transfers.repository.js';
import { WalletError } from '../wallets/wallets.errors.js';
import { applyBalanceDelta, lockWallets } from '../wallets/wallets.repository.js';
import { ReversalError } from './reversals.errors.js';
import { findReversal, insertReversal, reholdReversal, updateReversal } from './reversals.repository.js';
import type { ReversalStatus, TransferReversalRow } from './reversals.table.js';

/** The reversal as WalletService answers it (docs/internal-api.md). */
export interface ReversalView {
  transfer_id: string;
  status: ReversalStatus;
  original_transaction_id: string;
  /** The wallet the money goes back from (the transfer's destination)… */
  from_wallet_id: string;
  /** …and the one it returns to (the transfer's source). */
  to_wallet_id: string;
  currency: string;
  transfer_amount: string;
  amount: string;
  partial: boolean;
  hold_id: string;
  transaction_id: string | null;
  reason: string;
  requested_by: string;
  created_at: string;
}

export function toReversalView(row: TransferReversalRow): ReversalView {
  return {
    transfer_id: row.transfer_id,
    status: row.status,
    original_transaction_id: row.original_transaction_id,
    from_wallet_id: row.from_wallet_id,
    to_wallet_id: row.to_wallet_id,
    currency: row.currency.trim(),
    transfer_amount: row.transfer_amount.toString(),
    amount: row.amount.toString(),
    partial: row.amount < row.transfer_amount,
    hold_id: row.hold_id,
    transaction_id: row.transaction_id,
    reason: row.reason,
    requested_by: row.requested_by,
    created_at: row.created_at.toISOString(),
  };
}

export interface HoldReversalInput {
  transferId: string;
  allowPartial: boolean;
  reason: string;
  requestedBy: string;
  holdTtlSeconds: number;
}

type Refusal = ReversalError | WalletError | HoldError;

export interface ReversalService {
  /**
   * First step: holds the transfer's amount on its destination (so it cannot be spent while the
   * reversal runs) and records the reversal. A partial amount only with `allowPartial`, and only
   * what the destination still has available; never below zero (the hold is counted in its
   * pending, under the wallet CHECK). A frozen wallet is reversed (a freeze is what an operator
   * does while investigating the transfer); a closed one is not. A reversal that gave up
   * (`released`: nothing moved) may be asked again; one held or completed may not.
   */
  hold(trx: Db, input: HoldReversalInput): Promise<TransferReversalRow | Refusal>;
  /** The pivot: moves the held amount back to the source as a `reversal` journal transaction. */
  capture(trx: Db, transferId: string): Promise<TransferReversalRow | Refusal>;
  /** The undo of hold: frees the hold; null when there was no reversal to release. */
  release(
    trx: Db,
    transferId: string,
  ): Promise<{ released: boolean; reversal: TransferReversalRow | null } | Refusal>;
}

export function createReversalService(): ReversalService {
  async function audit(trx: Db, row: TransferReversalRow, event: string, recordedBy = 'wallet') {
    await enqueueOutbox(trx, [
      {
        // Per hold: a reversal asked again after it gave up has its own `held`, `completed`…
        eventId: `reversal:${row.transfer_id}:${row.hold_id}:${event}`,
        collection: 'audit_trace',
        document: {
          kind: 'transfer_reversal',
          hold_id: row.hold_id,
          event,
          transfer_id: row.transfer_id,
          workflow_id: `reversal-${row.transfer_id}`,
          amount: row.amount.toString(),
          currency: row.currency.trim(),
          from_wallet_id: row.from_wallet_id,
          to_wallet_id: row.to_wallet_id,
          transaction_id: row.transaction_id,
          reason: row.reason,
          requested_by: row.requested_by,
          recorded_by: recordedBy,
          recorded_at: new Date().toISOString(),
        },
      },
    ]);
  }

  return {
    async hold(trx, input) {
      const { hold: transferHold, capture } = await transferLedgerState(trx, input.transferId);
      if (!transferHold || !capture) return ReversalError.TransferNotCaptured;
      // Locked: two attempts after a released one cannot both take it.
      const earlier = await findReversal(trx, input.transferId, { lock: true });
      if (earlier && earlier.status !== 'released') return ReversalError.TransferAlreadyReversed;
      const source = transferHold.wallet_id;
      const destination = capture.to_wallet_id;
      const wallets = await lockWallets(trx, [source, destination]);
      const from = wallets.get(destination);
      const to = wallets.get(source);
      if (!from || !to) return WalletError.WalletNotFound;
      if (from.status === 'closed' || to.status === 'closed') return WalletError.WalletClosed;
      const transferAmount = BigInt(capture.amount);
      // Its own available balance only: a reversal never draws on an overdraft.
      const available = from.posted - from.pending;
      const amount = available >= transferAmount ? transferAmount : input.allowPartial ? available : 0n;
      if (amount <= 0n) return ReversalError.ReversalInsufficientFunds;
      const holdId = randomUUID();
      await trx
        .insertInto('holds')
        .values({
          id: holdId,
          wallet_id: destination,
          currency: from.currency,
          amount,
          status: 'active',
          transfer_id: `reversal:${input.transferId}`,
          expires_at: sql<Date>`now() + make_interval(secs => ${input.holdTtlSeconds})`,
        })
        .execute();
      await applyBalanceDelta(trx, destination, 0n, amount);
      const fields = { amount, hold_id: holdId, reason: input.reason, requested_by: input.requestedBy };
      const row = earlier
        ? await reholdReversal(trx, input.transferId, fields)
        : await insertReversal(trx, {
            ...fields,
            transfer_id: input.transferId,
            original_transaction_id: capture.transaction_id,
            from_wallet_id: destination,
            to_wallet_id: source,
            currency: from.currency,
            transfer_amount: transferAmount,
            status: 'held',
            transaction_id: null,
          });
      // A concurrent first reversal of the same transfer committed meanwhile: this one rolls back.
      if (!row) throw new Error(`transfer ${input.transferId} was reversed concurrently`);
      await audit(trx, row, 'held');
      return row;
    },

    async capture(trx, transferId) {
      const row = await findReversal(trx, transferId, { lock: true });
      if (!row) return ReversalError.ReversalNotFound;
      if (row.status === 'completed') return row;
      if (row.status === 'released') return ReversalError.ReversalReleased;
      // Lock order of every movement: the hold, then the user wallets in id order.
      const hold = await lockHold(trx, row.hold_id);
      if (!hold || hold.status !== 'active' || hold.expires_at <= new Date()) return HoldError.HoldNotActive;
      const wallets = await lockWallets(trx, [row.from_wallet_id, row.to_wallet_id]);
      if (wallets.get(row.to_wallet_id)?.status === 'closed') return WalletError.WalletClosed;
      const transactionId = await postJournal(trx, {
        kind: 'reversal',
        currency: row.currency.trim(),
        reference: `reversal:${transferId}`,
        transferId,
        holdId: hold.id,
        reversesId: row.original_transaction_id,
        legs: [
          { walletId: row.from_wallet_id, amount: -row.amount, pendingDelta: -row.amount },
          { walletId: row.to_wallet_id, amount: row.amount },
        ],
      });
      await trx
        .updateTable('holds')
        .set({
          status: 'captured',
          captured_amount: row.amount,
          capture_transaction_id: transactionId,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', hold.id)
        .execute();
      const done = await updateReversal(trx, transferId, {
        status: 'completed',
        transaction_id: transactionId,
      });
      await audit(trx, done, 'completed');
      return done;
    },

    async release(trx, transferId) {
      const row = await findReversal(trx, transferId, { lock: true });
      if (!row) return { released: false, reversal: null };
      if (row.status === 'completed') return ReversalError.ReversalAlreadyCaptured;
      if (row.status === 'released') return { released: false, reversal: row };
      const hold = await lockHold(trx, row.hold_id);
      // An expired hold was already given back by the sweep.
      if (hold?.status === 'active') {
        await applyBalanceDelta(trx, hold.wallet_id, 0n, -hold.amount);
        await finishHold(trx, hold.id, 'released');
      }
      const released = await updateReversal(trx, transferId, { status: 'released' });
      await audit(trx, released, 'released');
      return { released: true, reversal: released };
    },
  };
}
