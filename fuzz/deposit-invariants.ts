/**
 * The money invariants of one fuzzed deposit, read from WalletService's own tables (its
 * database, read-only): the fresh wallet, its deposit references and journal entries, and the
 * audit records queued in its outbox. Each check returns the broken promise as a sentence.
 */
import { sql } from 'kysely';
import type { DepositResult } from '../workflows/deposit-contract.js';
import type { WalletHarness } from '../wallet/testing/wallet-harness.js';
import { readLedgerSnapshot, walletBalances, walletPostings } from './ledger-snapshot.js';

export interface DepositLedger {
  wallet: { posted: bigint; pending: bigint; status: string };
  /** The wallet's deposit-reference rows for the schedule's reference (the unique index's view). */
  references: { transaction_id: string; amount: bigint }[];
  /** Journal transactions of kind `deposit` crediting the wallet under the reference. */
  credits: { id: string; amount: bigint }[];
  /** Audit-trace records queued for the deposit's workflow id: the run and `<step>:<status>`. */
  audit: { run: string; entry: string }[];
}

/** Reads what the ledger says about one deposit (wallet and reference) and its workflow's audit. */
export function readDepositLedger(
  wallet: WalletHarness,
  ids: { walletId: string; reference: string; workflowId: string },
): Promise<DepositLedger> {
  return readLedgerSnapshot(wallet, async (db) => {
    const references = await db
      .selectFrom('deposit_references')
      .select(['transaction_id', 'amount'])
      .where('wallet_id', '=', ids.walletId)
      .where('reference', '=', ids.reference)
      .execute();
    const credits = await walletPostings(db, ids.walletId, 'deposit', { reference: ids.reference });
    const audit = await db
      .selectFrom('outbox')
      .select([
        sql<string>`coalesce(document->>'run_id', '')`.as('run'),
        sql<string>`document->>'step' || ':' || (document->>'status')`.as('entry'),
      ])
      .where('collection', '=', 'audit_trace')
      .where(sql<string>`document->>'workflow_id'`, '=', ids.workflowId)
      .execute();
    return {
      ...(await walletBalances(db, { wallet: ids.walletId })),
      references: references.map((r) => ({ transaction_id: r.transaction_id, amount: BigInt(r.amount) })),
      credits: credits.map((c) => ({ id: c.transaction_id, amount: c.amount })),
      audit,
    };
  });
}

/**
 * Whatever happened: the reference credited the wallet at most once, the reference index and
 * the journal agree, and the balance is what was there before plus that one credit.
 */
export function depositMoneyInvariants(ledger: DepositLedger, funded: bigint): string[] {
  const broken: string[] = [];
  const { wallet, references, credits } = ledger;
  if (credits.length > 1) broken.push(`the reference credited the wallet ${credits.length} times`);
  if (references.length > 1)
    broken.push(`${references.length} deposit references for one (wallet, reference)`);
  const credit = credits[0];
  const reference = references[0];
  if ((credit === undefined) !== (reference === undefined))
    broken.push(`${credits.length} credit(s) in the journal but ${references.length} reference row(s)`);
  if (credit && reference && (credit.id !== reference.transaction_id || credit.amount !== reference.amount))
    broken.push(
      `the reference row (${reference.transaction_id}, ${reference.amount}) is not the journal's credit (${credit.id}, ${credit.amount})`,
    );
  const expected = funded + (credit?.amount ?? 0n);
  if (wallet.posted !== expected)
    broken.push(`wallet posted ${wallet.posted} != funded ${funded} + credited ${credit?.amount ?? 0n}`);
  if (wallet.pending !== 0n) broken.push(`wallet has ${wallet.pending} pending, with no hold placed`);
  if (wallet.posted < 0n) broken.push(`wallet balance is negative (${wallet.posted})`);
  return broken;
}

/** How one deposit run ended, as its client saw it. */
export type DepositEnd =
  { kind: 'completed'; result: DepositResult } | { kind: 'failed'; code: string } | { kind: 'terminated' };

/**
 * A deposit run's end agrees with the ledger: `completed` names the one credit, of its own
 * amount, and the balance right after it; `failed` with a code it may fail with, and it credited
 * nothing unless another run of the same reference (`creditedElsewhere`) did.
 */
export function depositOutcomeInvariants(
  who: string,
  end: DepositEnd,
  ledger: DepositLedger,
  expect: {
    walletId: string;
    amount: bigint;
    funded: bigint;
    codes: ReadonlySet<string>;
    creditedElsewhere: boolean;
  },
): string[] {
  const broken: string[] = [];
  const credit = ledger.credits[0];
  switch (end.kind) {
    case 'completed': {
      const r = end.result;
      if (!credit) broken.push(`${who} completed, but the journal shows no credit`);
      else {
        if (r.transaction_id !== credit.id)
          broken.push(
            `${who} completed with transaction ${r.transaction_id}, the journal's credit is ${credit.id}`,
          );
        if (credit.amount !== expect.amount)
          broken.push(`${who} completed for ${expect.amount}, the journal credited ${credit.amount}`);
      }
      if (r.wallet_id !== expect.walletId) broken.push(`${who} completed for wallet ${r.wallet_id}`);
      if (r.amount !== String(expect.amount)) broken.push(`${who} reports amount ${r.amount}`);
      const after = String(expect.funded + expect.amount);
      if (r.balance.posted !== after || r.balance.available !== after)
        broken.push(`${who} reports balance ${JSON.stringify(r.balance)}, the credit left ${after}`);
      break;
    }
    case 'failed':
      if (!expect.codes.has(end.code))
        broken.push(`${who} failed with ${end.code}, which nothing in its schedule explains`);
      if (credit && !expect.creditedElsewhere)
        broken.push(
          `${who} failed (${end.code}), yet the wallet was credited ${credit.amount} and no other run did it`,
        );
      break;
    case 'terminated':
      break;
  }
  return broken;
}

/**
 * The audit trace: at most one record per run, step and status (its keys are per run and entry),
 * and a record of the latest run's end unless its audit call was refused on purpose — a run an
 * operator reset records its own outcome, it does not lean on the first run's.
 */
export function depositAuditInvariants(
  end: DepositEnd,
  ledger: DepositLedger,
  latestRunId: string,
  auditRefused: boolean,
): string[] {
  const broken: string[] = [];
  const seen = new Set<string>();
  for (const { run, entry } of ledger.audit) {
    const key = `${run}/${entry}`;
    if (seen.has(key)) broken.push(`audit record ${entry} of run ${run} written twice`);
    seen.add(key);
  }
  if (!auditRefused && end.kind !== 'terminated') {
    const wanted = `deposit:${end.kind}`;
    if (!seen.has(`${latestRunId}/${wanted}`))
      broken.push(`the run ended ${end.kind} without its audit record ${wanted}`);
  }
  return broken;
}
