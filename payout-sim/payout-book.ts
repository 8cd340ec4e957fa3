/**
 * The simulated provider's books: payouts by the caller's reference (the idempotency key of the
 * rail), the fault rules tests set, and whether each result was reported. With a state file
 * (`PAYOUT_SIM_STATE_FILE`, which the local stack sets) every change is written to it before the
 * caller gets an answer, so a restarted simulator still knows every payout it accepted — as a
 * real provider would — and a retried submit after a crash finds its payout instead of paying
 * again. Without one the book lives in memory (unit tests).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface PayoutRequest {
  reference: string;
  amount: string;
  currency: string;
  destination: { account_holder: string; iban: string };
}

export type PayoutStatus = 'pending' | 'settled' | 'rejected';

export interface Payout extends PayoutRequest {
  provider_payout_id: string;
  status: PayoutStatus;
  reason?: string;
  accepted_at: string;
  decided_at?: string;
  /** When the webhook acknowledged the result (absent: not yet, or never sent). */
  reported_at?: string;
}

/**
 * What a test can make the provider do, for one reference or for every payout:
 * - `submit_5xx`: answer 503 to the next `times` submits (nothing recorded);
 * - `submit_timeout`: record the payout but answer only after `delay_ms` (the caller times out);
 * - `no_result`: never send the result (the caller's wait runs out);
 * - `late`: send the result `delay_ms` after it was decided;
 * - `duplicate`: send the result twice;
 * - `reject` / `settle`: decide so, whatever the ratio.
 */
export const FAULTS = [
  'submit_5xx',
  'submit_timeout',
  'no_result',
  'late',
  'duplicate',
  'reject',
  'settle',
] as const;
export type FaultKind = (typeof FAULTS)[number];

export interface FaultRule {
  fault: FaultKind;
  /** Only this payout; absent: every payout. */
  reference?: string;
  delay_ms?: number;
  /** How many times it applies (`submit_5xx`); absent: always. */
  times?: number;
}

export interface PayoutBook {
  /** The payout of `reference`, or undefined. */
  get(reference: string): Payout | undefined;
  /** Records a new payout; the existing one for a known reference (`conflict` when it differs). */
  accept(request: PayoutRequest): { payout: Payout; created: boolean } | 'conflict';
  decide(reference: string, status: 'settled' | 'rejected', reason?: string): Payout;
  /** Records that the webhook acknowledged the payout's result. */
  reported(reference: string): void;
  /** Every payout, in the order they were accepted. */
  list(): readonly Payout[];
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  faults(): readonly FaultRule[];
  /** The rule of `kind` for `reference` (its own rule first, then a global one); uses up one `times`. */
  fault(kind: FaultKind, reference: string, consume?: boolean): FaultRule | undefined;
}

interface BookState {
  payouts: Payout[];
  faults: FaultRule[];
}

/** A book kept in `stateFile` when given (loaded now, written on every change), else in memory. */
export function createPayoutBook(stateFile?: string): PayoutBook {
  const loaded: BookState =
    stateFile && existsSync(stateFile)
      ? (JSON.parse(readFileSync(stateFile, 'utf8')) as BookState)
      : { payouts: [], faults: [] };
  const payouts = new Map<string, Payout>(loaded.payouts.map((p) => [p.reference, p]));
  let rules: FaultRule[] = loaded.faults;
  /** Whole-file rewrite through a rename: a crash leaves the old state or the new one, never half. */
  const save = () => {
    if (!stateFile) return;
    mkdirSync(path.dirname(stateFile), { recursive: true });
    const state: BookState = { payouts: [...payouts.values()], faults: rules };
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  const same = (a: PayoutRequest, b: PayoutRequest) =>
    a.amount === b.amount &&
    a.currency === b.currency &&
    a.destination.account_holder === b.destination.account_holder &&
    a.destination.iban === b.destination.iban;

  return {
    get: (reference) => payouts.get(reference),
    accept(request) {
      const existing = payouts.get(request.reference);
      if (existing) return same(existing, request) ? { payout: existing, created: false } : 'conflict';
      const payout: Payout = {
        ...request,
        provider_payout_id: `po_${randomUUID().replaceAll('-', '')}`,
        status: 'pending',
        accepted_at: new Date().toISOString(),
      };
      payouts.set(request.reference, payout);
      save();
      return { payout, created: true };
    },
    decide(reference, status, reason) {
      const payout = payouts.get(reference)!;
      payout.status = status;
      payout.decided_at = new Date().toISOString();
      if (reason !== undefined) payout.reason = reason;
      save();
      return payout;
    },
    reported(reference) {
      const payout = payouts.get(reference);
      if (!payout) return;
      payout.reported_at = new Date().toISOString();
      save();
    },
    list: () => [...payouts.values()],
    addFault(rule) {
      rules.push(rule);
      save();
    },
    clearFaults() {
      rules = [];
      save();
    },
    faults: () => rules,
    fault(kind, reference, consume = true) {
      const rule =
        rules.find((r) => r.fault === kind && r.reference === reference) ??
        rules.find((r) => r.fault === kind && r.reference === undefined);
      if (rule && consume && rule.times !== undefined) {
        rule.times -= 1;
        if (rule.times <= 0) rules = rules.filter((r) => r !== rule);
        save();
      }
      return rule;
    },
  };
}
