/**
 * Stubbed activities for workflow tests: a tiny in-memory model of AuthService and
 * WalletService (users, wallets with balances, holds keyed like the real idempotency keys), so
 * tests assert what a user would notice — balances, statuses — plus the exact sequence of
 * effects. Failures are injected per workflow id and per activity.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../index.js';

export const FAKE_OTP_CODE = '424242';
export const FAKE_STEP_UP_THRESHOLD = 100_000n;
export const FAKE_PER_TRANSFER_LIMIT = 500_000n;

interface FakeWallet {
  id: string;
  user_id: string;
  currency: string;
  status: 'active' | 'frozen';
  /** Posted balance minus active holds. */
  available: bigint;
  posted: bigint;
}

interface FakeHold {
  id: string;
  key: string;
  wallet_id: string;
  amount: bigint;
  status: 'active' | 'captured' | 'released';
}

/**
 * What an injected failure does:
 * - `domain` — a business refusal with the given code, before any effect;
 * - `outage` — an outage that outlived the retries, before any effect;
 * - `outage_after_effect` — the effect happened, then the answer was lost (a timeout);
 * - `flaky` — one retryable outage, then success on the retry;
 * - `block` — the effect happens, then the activity waits until `release(gate)` is called.
 */
export type Injection =
  | { kind: 'domain'; code: string; times?: number }
  | { kind: 'outage'; times?: number }
  | { kind: 'outage_after_effect'; times?: number }
  | { kind: 'flaky' }
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
    status?: 'active' | 'frozen';
  }): void;
  balance(walletId: string): { available: bigint; posted: bigint };
  /** Effects in order for one workflow, e.g. `reserve`, `release`, `capture`. */
  effects(workflowId: string): string[];
  inject(workflowId: string, activity: ActivityName, injection: Injection): void;
  /** Lets a `block`ed activity finish. */
  open(gate: string): void;
  /** Resolves once a `block`ed activity reached its gate. */
  reached(gate: string): Promise<void>;
  /** The last finalize/audit payload seen for a workflow. */
  finalized(workflowId: string): unknown;
  users: Map<string, { user_id: string; status: string }>;
}

export function createFakeServices(): FakeServices {
  const users = new Map<string, { user_id: string; status: string }>();
  const wallets = new Map<string, FakeWallet>();
  const holds = new Map<string, FakeHold>();
  const effectLog = new Map<string, string[]>();
  const injections = new Map<string, Injection & { used: number }>();
  const gates = new Map<
    string,
    { opened: Promise<void>; open: () => void; hit: Promise<void>; reach: () => void }
  >();
  const finalizedPayloads = new Map<string, unknown>();
  let seq = 0;

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
          throw domain(inj.code, `injected ${inj.code}`);
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
        case 'flaky':
          if (attempt() === 1) {
            throw ApplicationFailure.create({
              message: `injected blip in ${name}`,
              type: 'upstream_unavailable',
            });
          }
          break;
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

  const holdKey = () => `${wfId()}:reserve`;

  const activities: Activities = {
    async authorizeTransfer(input) {
      return guarded('authorizeTransfer', () => {
        effect('authorize');
        const user = users.get(input.user_id);
        if (!user || user.status !== 'active') throw domain('not_authorized');
        const from = wallets.get(input.from_wallet_id);
        const to = wallets.get(input.to_wallet_id);
        if (!from || !to) throw domain('wallet_not_found');
        if (from.user_id !== input.user_id) throw domain('not_authorized');
        if (from.currency !== input.currency || to.currency !== input.currency)
          throw domain('currency_mismatch');
        if (from.status === 'frozen' || to.status === 'frozen') throw domain('wallet_frozen');
        if (BigInt(input.amount) > FAKE_PER_TRANSFER_LIMIT) throw domain('limit_exceeded');
        return { step_up_required: BigInt(input.amount) >= FAKE_STEP_UP_THRESHOLD, attempt: attempt() };
      });
    },
    async sendStepUpOtp(_input) {
      return guarded('sendStepUpOtp', () => {
        effect('otp_send');
        return {
          challenge_id: `challenge-${++seq}`,
          expires_at: new Date(Date.now() + 600_000).toISOString(),
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
    async reserveFunds(input) {
      return guarded('reserveFunds', () => {
        const key = holdKey();
        const existing = holds.get(key);
        if (existing) return { hold_id: existing.id, attempt: attempt() };
        const wallet = wallets.get(input.wallet_id);
        if (!wallet) throw domain('wallet_not_found');
        if (wallet.status === 'frozen') throw domain('wallet_frozen');
        const amount = BigInt(input.amount);
        if (wallet.available < amount) throw domain('insufficient_funds', 'wallet: insufficient funds');
        wallet.available -= amount;
        const hold: FakeHold = { id: `hold-${++seq}`, key, wallet_id: wallet.id, amount, status: 'active' };
        holds.set(key, hold);
        effect('reserve');
        return { hold_id: hold.id, attempt: attempt() };
      });
    },
    async releaseFunds(input) {
      return guarded('releaseFunds', () => {
        const hold = input.hold_id
          ? [...holds.values()].find((h) => h.id === input.hold_id)
          : holds.get(holdKey());
        if (!hold || hold.status === 'released') {
          effect('release:none');
          return { released: false, attempt: attempt() };
        }
        if (hold.status === 'captured') throw domain('hold_already_captured');
        hold.status = 'released';
        wallets.get(hold.wallet_id)!.available += hold.amount;
        effect(input.hold_id ? 'release' : 'release:by_key');
        return { released: true, attempt: attempt() };
      });
    },
    async captureFunds(input) {
      return guarded('captureFunds', () => {
        const hold = [...holds.values()].find((h) => h.id === input.hold_id);
        if (!hold) throw domain('hold_not_active');
        if (hold.status === 'captured') return { transaction_id: `tx-${hold.id}`, attempt: attempt() };
        if (hold.status !== 'active') throw domain('hold_not_active');
        const to = wallets.get(input.to_wallet_id)!;
        if (to.status === 'frozen') throw domain('wallet_frozen');
        hold.status = 'captured';
        wallets.get(hold.wallet_id)!.posted -= hold.amount;
        to.available += hold.amount;
        to.posted += hold.amount;
        effect('capture');
        return { transaction_id: `tx-${hold.id}`, attempt: attempt() };
      });
    },
    async finalizeTransfer(input) {
      return guarded('finalizeTransfer', () => {
        finalizedPayloads.set(wfId(), input);
        effect('finalize');
        return { attempt: attempt() };
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
        const wallet = wallets.get(input.wallet_id);
        if (!wallet) throw domain('wallet_not_found');
        if (wallet.status === 'frozen') throw domain('wallet_frozen');
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
            created_at: new Date(0).toISOString(),
          },
          attempt: attempt(),
        };
      });
    },
    async recordAuditTrace(input) {
      return guarded('recordAuditTrace', () => {
        finalizedPayloads.set(wfId(), input);
        effect('audit');
      });
    },
    async expireHolds() {
      return guarded('expireHolds', () => {
        effect('expire_holds');
        return { expired: 0 };
      });
    },
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
    finalized: (id) => finalizedPayloads.get(id),
  };
}
