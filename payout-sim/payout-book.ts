/**
 * The simulated provider's books: payouts by the caller's reference (the idempotency key of the
 * rail), the fault rules tests set, and when each payout's result goes out. Kept in memory: the
 * simulator stands in for a third party in development and tests, and a restart forgets every
 * payout (a real provider would not; docs/runbook.md, "Payouts stuck at the provider").
 */
import { randomUUID } from 'node:crypto';

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
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  faults(): readonly FaultRule[];
  /** The rule of `kind` for `reference` (its own rule first, then a global one); uses up one `times`. */
  fault(kind: FaultKind, reference: string, consume?: boolean): FaultRule | undefined;
}

export function createPayoutBook(): PayoutBook {
  const payouts = new Map<string, Payout>();
  let rules: FaultRule[] = [];
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
      return { payout, created: true };
    },
    decide(reference, status, reason) {
      const payout = payouts.get(reference)!;
      payout.status = status;
      payout.decided_at = new Date().toISOString();
      if (reason !== undefined) payout.reason = reason;
      return payout;
    },
    addFault: (rule) => void rules.push(rule),
    clearFaults: () => void (rules = []),
    faults: () => rules,
    fault(kind, reference, consume = true) {
      const rule =
        rules.find((r) => r.fault === kind && r.reference === reference) ??
        rules.find((r) => r.fault === kind && r.reference === undefined);
      if (rule && consume && rule.times !== undefined) {
        rule.times -= 1;
        if (rule.times <= 0) rules = rules.filter((r) => r !== rule);
      }
      return rule;
    },
  };
}
