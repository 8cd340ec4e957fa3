/**
 * The money invariants of one fuzzed withdrawal, read from WalletService's own tables (its
 * database, read-only) and from the payout provider's book: the fresh wallet, the withdrawal's
 * holds and captures (its own id and the late booking's `<id>:late`), and the provider's
 * payouts to this withdrawal's bank account. Each check returns the broken promise as a
 * sentence; an empty list is a clean withdrawal.
 */
import type { Payout, PayoutBook } from '../payout-sim/payout-book.js';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';
import { holdsOf, readLedgerSnapshot, walletBalances, walletPostings } from './ledger-snapshot.js';
import { latePayoutBookingId, type Withdrawal } from '../workflows/withdrawal-contract.js';

export interface WithdrawalLedger {
  wallet: { posted: bigint; pending: bigint };
  holds: { transfer_id: string; status: string; amount: bigint }[];
  /** Journal transactions of kind `withdrawal` under the withdrawal's ids: the wallet's leg. */
  captures: { transfer_id: string; reference: string | null; amount: bigint }[];
  /** The provider's payouts to this withdrawal's (unique) IBAN, whatever their reference. */
  payouts: Payout[];
}

export interface WithdrawalIds {
  withdrawalId: string;
  walletId: string;
  iban: string;
}

/** Reads what the ledger (in one snapshot) and the provider say about one withdrawal and its wallet. */
export async function readWithdrawalLedger(
  wallet: WalletHarness,
  book: PayoutBook,
  ids: WithdrawalIds,
): Promise<WithdrawalLedger> {
  const bookings = [ids.withdrawalId, latePayoutBookingId(ids.withdrawalId)];
  const books = await readLedgerSnapshot(wallet, async (db) => ({
    ...(await walletBalances(db, { wallet: ids.walletId })),
    holds: await holdsOf(db, bookings),
    captures: await walletPostings(db, ids.walletId, 'withdrawal', { transferIds: bookings }),
  }));
  return {
    wallet: books.wallet,
    holds: books.holds,
    captures: books.captures.map((c) => ({
      transfer_id: String(c.transfer_id),
      reference: c.reference,
      amount: -c.amount,
    })),
    payouts: book.list().filter((p) => p.destination.iban === ids.iban),
  };
}

/**
 * What every withdrawal must satisfy whatever its end: conservation (the wallet lost exactly
 * what was captured), no overdraft, pending equal to the active holds, money out at most once
 * and only for a payout the provider settled, the provider asked once.
 */
export function withdrawalMoneyInvariants(
  ledger: WithdrawalLedger,
  amount: bigint,
  funded: bigint,
): string[] {
  const broken: string[] = [];
  const { wallet, holds, captures, payouts } = ledger;
  const out = captures.reduce((sum, c) => sum + c.amount, 0n);
  if (wallet.posted !== funded - out)
    broken.push(
      `money created or destroyed: wallet ${wallet.posted} != deposited ${funded} - captured ${out}`,
    );
  if (wallet.posted - wallet.pending < 0n)
    broken.push(`wallet's available balance is negative (${wallet.posted - wallet.pending})`);
  if (captures.length > 1)
    broken.push(
      `money left ${captures.length} times for one withdrawal (${captures.map((c) => c.transfer_id).join(', ')})`,
    );
  for (const c of captures)
    if (c.amount !== amount)
      broken.push(`captured ${c.amount} under ${c.transfer_id}, not the amount ${amount}`);
  const activeHeld = holds.filter((h) => h.status === 'active').reduce((sum, h) => sum + h.amount, 0n);
  if (wallet.pending !== activeHeld)
    broken.push(`wallet's pending ${wallet.pending} != its active holds ${activeHeld}`);
  for (const id of new Set(holds.map((h) => h.transfer_id))) {
    const n = holds.filter((h) => h.transfer_id === id).length;
    if (n > 1) broken.push(`${n} holds under ${id}`);
  }
  if (payouts.length > 1)
    broken.push(
      `the provider was asked ${payouts.length} times (references ${payouts.map((p) => p.reference).join(', ')})`,
    );
  const payout = payouts[0];
  if (captures.length > 0) {
    if (payout?.status !== 'settled')
      broken.push(`the wallet was debited, but the provider's payout is ${payout?.status ?? 'absent'}`);
    else if (captures[0]!.reference !== `payout:${payout.provider_payout_id}`)
      broken.push(
        `the capture's reference ${captures[0]!.reference} is not the provider's payout ${payout.provider_payout_id}`,
      );
  }
  return broken;
}

/** The provider's result the harness delivered, and whether the run's history shows it arrived. */
export interface Delivered {
  status: 'settled' | 'rejected';
  /** The run's history has the `payoutResult` signal (false: it came after the run closed). */
  whileRunning: boolean;
}

/**
 * The withdrawal's final view agrees with the ledger and the provider: completed means the
 * money left once (and the provider settled); failed or cancelled means nothing left the
 * wallet and no hold remains; a payout the provider settled for the amount is either booked or
 * passed through an operator (`needs_attention`), never silently given back.
 */
export function withdrawalOutcomeInvariants(
  view: Withdrawal,
  ledger: WithdrawalLedger,
  delivered: Delivered | undefined,
  parked: boolean,
): string[] {
  const broken: string[] = [];
  const active = ledger.holds.some((h) => h.status === 'active');
  if (active) broken.push(`${view.status} with a hold still active (money stuck in pending)`);
  switch (view.status) {
    case 'completed':
      if (ledger.captures.length !== 1)
        broken.push(`completed, but ${ledger.captures.length} capture(s) in the journal`);
      if (view.failure_code !== undefined) broken.push(`completed with failure code ${view.failure_code}`);
      break;
    case 'failed':
    case 'cancelled':
      if (ledger.captures.length > 0) broken.push(`${view.status}, but the wallet was debited`);
      if (view.failure_code === undefined) broken.push(`${view.status} without a failure code`);
      break;
    default:
      broken.push(`ended ${view.status}: neither terminal nor finished by the harness`);
  }
  const settled = ledger.payouts[0]?.status === 'settled';
  if (
    view.status !== 'completed' &&
    settled &&
    delivered?.status === 'settled' &&
    delivered.whileRunning &&
    !parked
  )
    broken.push(
      `${view.status} although the provider's settled result reached it: the payout left, the books gave the funds back unseen`,
    );
  if (view.status === 'completed' && !settled)
    broken.push('completed, but the provider did not settle a payout');
  if (view.failure_code === 'payout_rejected' && settled && !parked)
    broken.push('failed payout_rejected, but the provider settled the payout');
  return broken;
}

/**
 * A withdrawal waiting in `needs_attention` says why and, for a settled payout, carries the
 * provider's evidence; its money stays accounted for (a released hold leaves nothing pending).
 */
export function withdrawalParkedInvariants(view: Withdrawal, ledger: WithdrawalLedger): string[] {
  const broken: string[] = [];
  const attention = view.attention;
  if (!attention) return ['parked in needs_attention without saying why'];
  const payout = ledger.payouts[0];
  if (['late_settlement', 'settled_hold_not_capturable', 'settlement_mismatch'].includes(attention.reason)) {
    if (!attention.evidence) broken.push(`parked ${attention.reason} without the provider's evidence`);
    else if (attention.evidence.provider_payout_id !== payout?.provider_payout_id)
      broken.push(
        `parked with evidence of payout ${attention.evidence.provider_payout_id}, the provider's is ${payout?.provider_payout_id}`,
      );
    if (payout?.status !== 'settled')
      broken.push(`parked ${attention.reason}, but the provider's payout is ${payout?.status}`);
  }
  if (attention.reason === 'late_settlement' && ledger.holds.some((h) => h.status === 'active'))
    broken.push('parked for a late settlement with the hold still active: the funds were not given back');
  // The late booking (`<id>:late`) may be under way: an operator's settleLatePayout runs while parked.
  const ownCaptures = ledger.captures.filter((c) => c.transfer_id === view.id);
  if (ownCaptures.length > 0)
    broken.push(`parked ${attention.reason} while the journal shows the withdrawal captured`);
  return broken;
}
