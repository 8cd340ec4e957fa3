/**
 * Stubbed activities for workflow tests: a tiny in-memory model of AuthService and
 * WalletService (users, wallets with balances, holds keyed like the real idempotency keys), so
 * tests assert what a user would notice — balances, statuses — plus the exact sequence of
 * effects. Failures are injected per workflow id and per activity.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { currencyExponent } from '../../lib/money.js';
import { verifyWorkflowInput } from '../../lib/workflow-input-signature.js';
import { transferWorkflowId } from '../../workflows/transfer-contract.js';
import { latePayoutBookingId, withdrawalWorkflowId } from '../../workflows/withdrawal-contract.js';
import type { Activities, TransferRecords } from '../index.js';

export const FAKE_OTP_CODE = '424242';
export const FAKE_STEP_UP_THRESHOLD = 100_000n;
export const FAKE_PER_TRANSFER_LIMIT = 500_000n;
export const FAKE_DAILY_LIMIT = 1_000_000n;
/** The WORKFLOW_INPUT_KEY of the fake worker: tests sign inputs with it (signWorkflowInput). */
export const FAKE_WORKFLOW_INPUT_KEY = Buffer.alloc(32, 7);

/** A closed wallet is refused with `wallet_closed` (final), a frozen one with `wallet_frozen`. */
type WalletStatus = 'active' | 'frozen' | 'closed';

interface FakeWallet {
  id: string;
  user_id: string;
  currency: string;
  status: WalletStatus;
  /** Posted balance minus active holds. */
  available: bigint;
  posted: bigint;
}

interface FakeHold {
  id: string;
  transfer_id: string;
  user_id: string;
  wallet_id: string;
  amount: bigint;
  status: 'active' | 'captured' | 'released';
}

/**
 * What an injected failure does:
 * - `domain` — a business refusal with the given code (and the upstream's words, `message`),
 *   before any effect;
 * - `outage` — an outage that outlived the retries, before any effect;
 * - `outage_after_effect` — the effect happened, then the answer was lost (a timeout);
 * - `domain_after_effect` — the effect happened, then a refusal with the given code (a re-run
 *   whose body differs from the one the wallet applied: `idempotency_key_mismatch`);
 * - `flaky` — one retryable outage, then success on the retry;
 * - `unreachable` — a retryable outage on every attempt (`times` of them): only the retry policy's
 *   own limits (a round's schedule-to-close) end it;
 * - `block` — the effect happens, then the activity waits until `release(gate)` is called.
 */
export type Injection =
  | { kind: 'domain'; code: string; message?: string; times?: number }
  | { kind: 'outage'; times?: number }
  | { kind: 'outage_after_effect'; times?: number }
  | { kind: 'domain_after_effect'; code: string; times?: number }
  | { kind: 'flaky' }
  | { kind: 'unreachable'; times?: number }
  | { kind: 'block'; gate: string };

type ActivityName = keyof Activities;

export interface FakeServices {
  activities: Activities;
  addUser(user: { user_id: string; status?: string }): void;
  addWallet(wallet: {
    id: string;
    user_id: string;
    currency?: string;
    balance?: bigint;
    status?: WalletStatus;
  }): void;
  balance(walletId: string): { available: bigint; posted: bigint };
  /**
   * Effects in order for one workflow: `reserve` (hold placed), `capture`, `release` (hold
   * freed), `release:none` (nothing to free, records written), `otp_send`, `otp_verify:<n>`.
   */
  effects(workflowId: string): string[];
  inject(workflowId: string, activity: ActivityName, injection: Injection): void;
  /** Lets a `block`ed activity finish. */
  open(gate: string): void;
  /** Resolves once a `block`ed activity reached its gate. */
  reached(gate: string): Promise<void>;
  /** The records (auth log + audit) the capture or release of a workflow carried. */
  recorded(workflowId: string): TransferRecords | undefined;
  /** The step-up challenges of this workflow expire `ms` after they are sent (default 10 min). */
  otpExpiresIn(workflowId: string, ms: number): void;
  /** The audit entries a deposit or onboarding workflow wrote. */
  audited(workflowId: string): unknown;
  /**
   * This workflow's reserve meets a WalletService from before migration 0046, which ignores
   * `capture` (its schema strips the field): the reserve only holds and the workflow captures
   * with a second call, as after a step-up (a rolling deploy's mixed versions).
   */
  walletWithoutOneCall(workflowId: string): void;
  users: Map<string, { user_id: string; status: string }>;
  /** What withdrawals captured into `payouts:<ccy>`, and the payouts the provider accepted (by reference). */
  payouts: { captured: bigint; submitted: Map<string, number> };
}

export function createFakeServices(): FakeServices {
  const users = new Map<string, { user_id: string; status: string }>();
  const wallets = new Map<string, FakeWallet>();
  const holds = new Map<string, FakeHold>();
  const effectLog = new Map<string, string[]>();
  const withoutOneCall = new Set<string>();
  const injections = new Map<string, Injection & { used: number }>();
  const gates = new Map<
    string,
    { opened: Promise<void>; open: () => void; hit: Promise<void>; reach: () => void }
  >();
  const recordsByWorkflow = new Map<string, TransferRecords>();
  const otpTtlMs = new Map<string, number>();
  const auditPayloads = new Map<string, unknown>();
  let seq = 0;
  const payouts = { captured: 0n, submitted: new Map<string, number>() };

  const wfId = () => Context.current().info.workflowExecution!.workflowId;
  const attempt = () => Context.current().info.attempt;
  const effect = (what: string) => {
    const list = effectLog.get(wfId()) ?? [];
    list.push(what);
    effectLog.set(wfId(), list);
  };
  const gate = (name: string) => {
    let g = gates.get(name);
    if (!g) {
      let open!: () => void;
      let reach!: () => void;
      const opened = new Promise<void>((r) => (open = r));
      const hit = new Promise<void>((r) => (reach = r));
      g = { opened, open, hit, reach };
      gates.set(name, g);
    }
    return g;
  };
  const domain = (code: string, message = code) =>
    ApplicationFailure.create({ message, type: code, nonRetryable: true, details: [{ attempt: attempt() }] });

  /** Applies an injection around an activity's effect. */
  async function guarded<T>(name: ActivityName, run: () => T): Promise<T> {
    const inj = injections.get(`${wfId()}/${name}`);
    const active = inj && (!('times' in inj) || inj.times === undefined || inj.used < inj.times);
    if (inj && active) {
      inj.used += 1;
      switch (inj.kind) {
        case 'domain':
          throw domain(inj.code, inj.message ?? `injected ${inj.code}`);
        case 'outage':
          throw ApplicationFailure.create({
            message: `injected outage in ${name}`,
            type: 'upstream_unavailable',
            nonRetryable: true, // stands for "the retry policy gave up"
            details: [{ attempt: attempt() }],
          });
        case 'outage_after_effect': {
          run();
          throw ApplicationFailure.create({
            message: `injected lost answer in ${name}`,
            type: 'upstream_unavailable',
            nonRetryable: true,
            details: [{ attempt: attempt() }],
          });
        }
        case 'domain_after_effect':
          run();
          throw domain(inj.code, `injected ${inj.code} after the effect`);
        case 'flaky':
          if (attempt() === 1) {
            throw ApplicationFailure.create({
              message: `injected blip in ${name}`,
              type: 'upstream_unavailable',
            });
          }
          break;
        case 'unreachable':
          throw ApplicationFailure.create({
            message: `injected unreachable ${name}`,
            type: 'upstream_unavailable',
          });
        case 'block': {
          const result = run();
          const g = gate(inj.gate);
          g.reach();
          await g.opened;
          return result;
        }
      }
    }
    return run();
  }

  const holdOf = (transferId: string) => [...holds.values()].find((h) => h.transfer_id === transferId);

  /** WalletService's status refusal: a closed wallet (final) before a frozen one. */
  function checkStatus(...of: FakeWallet[]): void {
    if (of.some((w) => w.status === 'closed')) throw domain('wallet_closed');
    if (of.some((w) => w.status === 'frozen')) throw domain('wallet_frozen');
  }

  /** What WalletService's reserve checks, in its order, under the source wallet's lock. */
  function checkReserve(input: Parameters<Activities['reserveTransfer']>[0]): FakeWallet {
    const t = input.transfer;
    const user = users.get(t.initiated_by.user_id);
    if (!user || user.status !== 'active') throw domain('not_authorized');
    const from = wallets.get(t.from_wallet_id);
    if (!from) throw domain('wallet_not_found');
    if (from.user_id !== t.initiated_by.user_id || t.from_wallet_id === t.to_wallet_id)
      throw domain('not_authorized');
    const to = wallets.get(t.to_wallet_id);
    if (!to) throw domain('wallet_not_found');
    if (from.currency !== t.currency || to.currency !== t.currency) throw domain('currency_mismatch');
    checkStatus(from, to);
    const amount = BigInt(t.amount);
    if (amount > FAKE_PER_TRANSFER_LIMIT) throw domain('limit_exceeded');
    const used = [...holds.values()]
      .filter((h) => h.user_id === t.initiated_by.user_id && h.status !== 'released')
      .reduce((sum, h) => sum + h.amount, 0n);
    if (used + amount > FAKE_DAILY_LIMIT) throw domain('limit_exceeded');
    if (from.available < amount) throw domain('insufficient_funds', 'wallet: insufficient funds');
    return from;
  }

  const notFaked = (): Promise<never> =>
    Promise.reject(new Error('not faked: reversal tests run the real WalletService'));

  const activities: Activities = {
    async reserveTransfer(input) {
      return guarded('reserveTransfer', () => {
        const t = input.transfer;
        // As the real activity: the signature and the workflow id first, before any call.
        if (!verifyWorkflowInput(t, FAKE_WORKFLOW_INPUT_KEY) || wfId() !== transferWorkflowId(t.transfer_id))
          throw domain('not_authorized', 'the transfer input is not signed by the gateway');
        const step_up_required = BigInt(t.amount) >= FAKE_STEP_UP_THRESHOLD;
        // As the wallet's migration 0046: captured in the same call when asked and no step-up.
        const captures = input.capture !== undefined && !step_up_required && !withoutOneCall.has(wfId());
        // The same key again (a retry after a lost answer) answers the hold it placed.
        const existing = holdOf(t.transfer_id);
        if (existing) {
          if (captures && existing.status === 'captured') {
            const answer = { captured: true, transaction_id: `tx-${existing.id}` };
            return { hold_id: existing.id, step_up_required, ...answer, attempt: attempt() };
          }
          return { hold_id: existing.id, step_up_required, attempt: attempt() };
        }
        const from = checkReserve(input);
        if (captures) {
          const to = wallets.get(t.to_wallet_id)!;
          const amount = BigInt(t.amount);
          const hold: FakeHold = {
            id: `hold-${++seq}`,
            transfer_id: t.transfer_id,
            user_id: t.initiated_by.user_id,
            wallet_id: from.id,
            amount,
            status: 'captured',
          };
          holds.set(hold.id, hold);
          from.available -= amount;
          from.posted -= amount;
          to.available += amount;
          to.posted += amount;
          recordsByWorkflow.set(wfId(), input.capture!.records);
          effect('reserve+capture');
          const answer = { captured: true, transaction_id: `tx-${hold.id}` };
          return { hold_id: hold.id, step_up_required, ...answer, attempt: attempt() };
        }
        const amount = BigInt(t.amount);
        from.available -= amount;
        const hold: FakeHold = {
          id: `hold-${++seq}`,
          transfer_id: t.transfer_id,
          user_id: t.initiated_by.user_id,
          wallet_id: from.id,
          amount,
          status: 'active',
        };
        holds.set(hold.id, hold);
        effect('reserve');
        return { hold_id: hold.id, step_up_required, attempt: attempt() };
      });
    },
    async sendStepUpOtp(_input) {
      return guarded('sendStepUpOtp', () => {
        effect('otp_send');
        return {
          challenge_id: `challenge-${++seq}`,
          expires_at: new Date(Date.now() + (otpTtlMs.get(wfId()) ?? 600_000)).toISOString(),
          attempt: attempt(),
        };
      });
    },
    async verifyStepUpOtp(input) {
      return guarded('verifyStepUpOtp', () => {
        effect(`otp_verify:${input.try_number}`);
        if (input.code !== FAKE_OTP_CODE) throw domain('otp_invalid', 'auth: the code is not valid');
        return { attempt: attempt() };
      });
    },
    async captureTransfer(input) {
      return guarded('captureTransfer', () => {
        const hold = holds.get(input.hold_id);
        if (!hold) throw domain('hold_not_found');
        if (hold.status === 'captured') return { transaction_id: `tx-${hold.id}`, attempt: attempt() };
        if (hold.status !== 'active') throw domain('hold_not_active');
        const to = wallets.get(input.to_wallet_id)!;
        checkStatus(to);
        hold.status = 'captured';
        wallets.get(hold.wallet_id)!.posted -= hold.amount;
        to.available += hold.amount;
        to.posted += hold.amount;
        recordsByWorkflow.set(wfId(), input.records);
        effect('capture');
        return { transaction_id: `tx-${hold.id}`, attempt: attempt() };
      });
    },
    async checkTransferCaptured(input) {
      return guarded('checkTransferCaptured', () => {
        const hold = holdOf(input.transfer_id);
        const captured = hold?.status === 'captured' && hold.amount === BigInt(input.amount);
        effect(`check:${captured ? 'captured' : 'not_captured'}`);
        return { captured, ...(captured ? { transaction_id: `tx-${hold.id}` } : {}), attempt: attempt() };
      });
    },
    async releaseTransfer(input) {
      return guarded('releaseTransfer', () => {
        if (wfId() !== transferWorkflowId(input.transfer_id)) {
          effect('release:refused');
          return { released: false, attempt: attempt() };
        }
        const hold = holdOf(input.transfer_id);
        if (hold?.status === 'captured') throw domain('hold_already_captured');
        if (!recordsByWorkflow.has(wfId())) recordsByWorkflow.set(wfId(), input.records);
        if (!hold || hold.status === 'released') {
          effect('release:none');
          return { released: false, attempt: attempt() };
        }
        hold.status = 'released';
        wallets.get(hold.wallet_id)!.available += hold.amount;
        effect('release');
        return { released: true, attempt: attempt() };
      });
    },
    async createUser(input) {
      return guarded('createUser', () => {
        if (input.registration_id.startsWith('missing')) throw domain('registration_not_found');
        if (input.registration_id.startsWith('existing')) {
          effect('create_user:existing');
          return { user_id: `random-${++seq}`, status: 'active', existing: true };
        }
        const user = { user_id: `user-${input.registration_id}`, status: 'pending' };
        users.set(user.user_id, user);
        effect('create_user');
        return { ...user, existing: false };
      });
    },
    async createWallet(input) {
      return guarded('createWallet', () => {
        const id = `wallet-${input.user_id}`;
        if (!wallets.has(id)) {
          wallets.set(id, {
            id,
            user_id: input.user_id,
            currency: input.currency,
            status: 'active',
            available: 0n,
            posted: 0n,
          });
        }
        effect('create_wallet');
        return { wallet_id: id };
      });
    },
    async activateUser(input) {
      return guarded('activateUser', () => {
        const user = users.get(input.user_id);
        if (!user) throw domain('user_not_found');
        user.status = 'active';
        effect('activate_user');
        return { status: 'active' };
      });
    },
    async disableUser(input) {
      return guarded('disableUser', () => {
        const user = users.get(input.user_id);
        if (!user) throw domain('user_not_found');
        user.status = 'disabled';
        effect('disable_user');
        return { status: 'disabled' };
      });
    },
    async depositFunds(input) {
      return guarded('depositFunds', () => {
        if (!verifyWorkflowInput(input, FAKE_WORKFLOW_INPUT_KEY))
          throw domain('not_authorized', 'the deposit input is not signed by the gateway');
        const wallet = wallets.get(input.wallet_id);
        if (!wallet) throw domain('wallet_not_found');
        checkStatus(wallet);
        if (wallet.currency !== input.currency) throw domain('currency_mismatch');
        const key = `${wfId()}:deposit`;
        if (!(effectLog.get(wfId()) ?? []).includes('deposit')) {
          wallet.available += BigInt(input.amount);
          wallet.posted += BigInt(input.amount);
          effect('deposit');
        }
        return {
          transaction_id: `tx-${key}`,
          wallet: {
            id: wallet.id,
            user_id: wallet.user_id,
            currency: wallet.currency,
            status: wallet.status,
            balance: { posted: String(wallet.posted), pending: '0', available: String(wallet.available) },
            overdraft_limit: '0',
            exponent: currencyExponent(wallet.currency),
            created_at: new Date(0).toISOString(),
          },
          attempt: attempt(),
        };
      });
    },
    async recordAuditTrace(input) {
      return guarded('recordAuditTrace', () => {
        auditPayloads.set(wfId(), input);
        effect('audit');
      });
    },
    async reserveWithdrawal(input) {
      return guarded('reserveWithdrawal', () => {
        const w = input.withdrawal;
        if (
          !verifyWorkflowInput(w, FAKE_WORKFLOW_INPUT_KEY) ||
          wfId() !== withdrawalWorkflowId(w.withdrawal_id)
        )
          throw domain('not_authorized', 'the withdrawal input is not signed by the gateway');
        const step_up_required = BigInt(w.amount) >= FAKE_STEP_UP_THRESHOLD;
        const existing = holdOf(w.withdrawal_id);
        if (existing) return { hold_id: existing.id, step_up_required, attempt: attempt() };
        const user = users.get(w.initiated_by.user_id);
        if (!user || user.status !== 'active') throw domain('not_authorized');
        const from = wallets.get(w.wallet_id);
        if (!from) throw domain('wallet_not_found');
        if (from.user_id !== w.initiated_by.user_id) throw domain('not_authorized');
        if (from.currency !== w.currency) throw domain('currency_mismatch');
        checkStatus(from);
        const amount = BigInt(w.amount);
        if (amount > FAKE_PER_TRANSFER_LIMIT) throw domain('limit_exceeded');
        if (from.available < amount) throw domain('insufficient_funds');
        from.available -= amount;
        const hold: FakeHold = {
          id: `hold-${++seq}`,
          transfer_id: w.withdrawal_id,
          user_id: w.initiated_by.user_id,
          wallet_id: from.id,
          amount,
          status: 'active',
        };
        holds.set(hold.id, hold);
        effect('reserve');
        return { hold_id: hold.id, step_up_required, attempt: attempt() };
      });
    },
    async submitPayout(input) {
      return guarded('submitPayout', () => {
        // The provider pays a reference once: a retried submit finds its payout.
        const n = payouts.submitted.get(input.reference) ?? 0;
        if (n === 0) effect('submit');
        payouts.submitted.set(input.reference, n + 1);
        return { provider_payout_id: `po-${input.reference}`, status: 'pending', attempt: attempt() };
      });
    },
    async captureWithdrawal(input) {
      return guarded('captureWithdrawal', () => {
        const hold = holdOf(input.withdrawal_id);
        if (!hold) throw domain('hold_not_found');
        if (hold.status === 'captured') return { transaction_id: `tx-${hold.id}`, attempt: attempt() };
        if (hold.status !== 'active') throw domain('hold_not_active');
        hold.status = 'captured';
        wallets.get(hold.wallet_id)!.posted -= hold.amount;
        payouts.captured += hold.amount;
        recordsByWorkflow.set(wfId(), input.records);
        effect('capture');
        return { transaction_id: `tx-${hold.id}`, attempt: attempt() };
      });
    },
    async captureLatePayout(input) {
      return guarded('captureLatePayout', () => {
        const w = input.withdrawal;
        const id = latePayoutBookingId(w.withdrawal_id);
        const booked = holdOf(id);
        if (booked) return { transaction_id: `tx-${booked.id}`, attempt: attempt() };
        const from = wallets.get(w.wallet_id)!;
        checkStatus(from);
        const amount = BigInt(w.amount);
        if (from.available < amount) throw domain('insufficient_funds');
        from.available -= amount;
        from.posted -= amount;
        payouts.captured += amount;
        const hold: FakeHold = {
          id: `hold-${++seq}`,
          transfer_id: id,
          user_id: w.initiated_by.user_id,
          wallet_id: from.id,
          amount,
          status: 'captured',
        };
        holds.set(hold.id, hold);
        effect('late-capture');
        return { transaction_id: `tx-${hold.id}`, attempt: attempt() };
      });
    },
    async releaseWithdrawal(input) {
      return guarded('releaseWithdrawal', () => {
        const hold = holdOf(input.withdrawal_id);
        if (hold?.status === 'captured') throw domain('hold_already_captured');
        if (!recordsByWorkflow.has(wfId())) recordsByWorkflow.set(wfId(), input.records);
        if (!hold || hold.status === 'released') {
          effect('release:none');
          return { released: false, attempt: attempt() };
        }
        hold.status = 'released';
        wallets.get(hold.wallet_id)!.available += hold.amount;
        effect('release');
        return { released: true, attempt: attempt() };
      });
    },
    async expireHolds() {
      return guarded('expireHolds', () => {
        effect('expire_holds');
        return { expired: 0 };
      });
    },
    // The reversal saga is tested against the real WalletService (workflows/reversal-workflow.test.ts).
    holdReversal: notFaked,
    captureReversal: notFaked,
    releaseReversal: notFaked,
    // The archive sweep is tested against the real Temporal and WalletService (transfer-archive-activities.test.ts).
    archiveClosedTransfers: notFaked,
  };

  return {
    activities,
    users,
    addUser: ({ user_id, status = 'active' }) => users.set(user_id, { user_id, status }),
    addWallet: ({ id, user_id, currency = 'USD', balance = 0n, status = 'active' }) =>
      wallets.set(id, { id, user_id, currency, status, available: balance, posted: balance }),
    balance: (id) => {
      const w = wallets.get(id)!;
      return { available: w.available, posted: w.posted };
    },
    effects: (id) => effectLog.get(id) ?? [],
    inject: (id, activity, injection) => injections.set(`${id}/${activity}`, { ...injection, used: 0 }),
    open: (name) => gate(name).open(),
    reached: (name) => gate(name).hit,
    recorded: (id) => recordsByWorkflow.get(id),
    otpExpiresIn: (id, ms) => otpTtlMs.set(id, ms),
    audited: (id) => auditPayloads.get(id),
    walletWithoutOneCall: (id) => withoutOneCall.add(id),
    payouts,
  };
}
