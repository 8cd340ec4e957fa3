/**
 * The money invariants of one fuzzed transfer, read from WalletService's own tables (its
 * database, read-only): the two fresh wallets, the transfer's hold and its journal entries.
 * Each check returns the broken promise as a sentence; an empty list is a clean transfer.
 */
import type { Transfer } from '../workflows/transfer-contract.js';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';
import { holdsOf, readLedgerSnapshot, walletBalances, walletPostings } from './ledger-snapshot.js';

export interface TransferLedger {
  from: { posted: bigint; pending: bigint };
  to: { posted: bigint; pending: bigint };
  holds: { id: string; status: string; amount: bigint; captured_amount: bigint }[];
  /** Journal transactions of kind `transfer` for this transfer id (its captures). */
  captures: { id: string; amount: bigint }[];
}

/** Reads what the ledger says about one transfer and its two wallets, in one snapshot. */
export function readTransferLedger(
  wallet: WalletHarness,
  ids: { transferId: string; from: string; to: string },
): Promise<TransferLedger> {
  return readLedgerSnapshot(wallet, async (db) => ({
    ...(await walletBalances(db, { from: ids.from, to: ids.to })),
    holds: await holdsOf(db, [ids.transferId]),
    captures: (await walletPostings(db, ids.to, 'transfer', { transferIds: [ids.transferId] })).map((p) => ({
      id: p.transaction_id,
      amount: p.amount,
    })),
  }));
}

/** What every transfer must satisfy whatever its end: conservation, no overdraft, once at most. */
export function moneyInvariants(ledger: TransferLedger, amount: bigint, funded: bigint): string[] {
  const broken: string[] = [];
  const { from, to, holds, captures } = ledger;
  if (from.posted + to.posted !== funded) {
    broken.push(
      `money created or destroyed: payer ${from.posted} + payee ${to.posted} != deposited ${funded}`,
    );
  }
  if (from.posted - from.pending < 0n)
    broken.push(`payer's available balance is negative (${from.posted - from.pending})`);
  if (to.posted < 0n) broken.push(`payee's balance is negative (${to.posted})`);
  if (captures.length > 1) broken.push(`money moved ${captures.length} times for one transfer`);
  if (to.posted !== 0n && to.posted !== amount)
    broken.push(`payee credited ${to.posted}, neither 0 nor the amount ${amount}`);
  if (holds.length > 1) broken.push(`${holds.length} holds for one transfer id`);
  const activeHeld = holds.filter((h) => h.status === 'active').reduce((sum, h) => sum + h.amount, 0n);
  if (from.pending !== activeHeld)
    broken.push(`payer's pending ${from.pending} != its active holds ${activeHeld}`);
  const captured = holds.some((h) => h.status === 'captured');
  if (captured !== (captures.length === 1)) {
    broken.push(`hold captured: ${captured}, but ${captures.length} capture(s) in the journal`);
  }
  return broken;
}

/** The transfer's final view agrees with the ledger. */
export function outcomeInvariants(view: Transfer, ledger: TransferLedger, amount: bigint): string[] {
  const broken: string[] = [];
  const moved = ledger.captures.length === 1 && ledger.to.posted === amount;
  const active = ledger.holds.some((h) => h.status === 'active');
  const captureStep = view.steps.find((s) => s.name === 'capture');
  switch (view.status) {
    case 'completed':
      if (!moved) broken.push('completed, but the journal shows no capture of the amount');
      if (active) broken.push('completed with an active hold left');
      if (captureStep?.status !== 'completed') broken.push(`completed, capture step ${captureStep?.status}`);
      break;
    case 'failed':
    case 'cancelled':
      if (ledger.captures.length > 0 || ledger.to.posted !== 0n)
        broken.push(`${view.status}, but the money moved`);
      if (active) broken.push(`${view.status} with the hold still active (money stuck in pending)`);
      if (view.failure_code === undefined) broken.push(`${view.status} without a failure code`);
      break;
    default:
      broken.push(`ended ${view.status}: neither terminal nor finished by the harness`);
  }
  return broken;
}

/**
 * A transfer waiting in `needs_attention` keeps its money accounted for: the hold is still
 * active (what it waits to capture or release) or was never placed. A hold the ledger shows
 * captured while the workflow waits to undo it is a capture the workflow lost track of; no
 * generated schedule makes every answer of a capture lost, so it is never expected.
 */
export function parkedInvariants(view: Transfer, ledger: TransferLedger): string[] {
  const broken: string[] = [];
  if (
    ledger.holds.some((h) => h.status === 'captured') &&
    !(view.steps.find((s) => s.name === 'capture')?.status === 'completed')
  ) {
    broken.push(
      'parked in needs_attention while the ledger shows its hold captured: the workflow lost track of a capture',
    );
  }
  if (
    ledger.holds.some((h) => h.status === 'released' || h.status === 'expired') &&
    ledger.from.pending !== 0n
  ) {
    broken.push('parked with a released hold, yet money is still pending');
  }
  return broken;
}

/** A terminated run moved the money once or not at all; an active hold it left waits for its expiry. */
export function terminatedInvariants(ledger: TransferLedger, amount: bigint): string[] {
  const captured = ledger.holds.some((h) => h.status === 'captured');
  if (captured && ledger.to.posted !== amount)
    return ['terminated after capture, payee not credited the amount'];
  if (!captured && ledger.to.posted !== 0n) return ['terminated without capture, payee credited'];
  return [];
}
