import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackDir } from '../../scripts/stack/paths.js';
import { isProfileName, PROFILES } from '../../scripts/stack/profile.js';
import { runningPid } from '../../scripts/stack/processes.js';
import { services, type ServiceSpec } from '../../scripts/stack/services.js';
import { waitServiceReady } from '../../scripts/stack/stack.js';
import { api, eventually, login, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { expectCleanBooks } from '../support/books.js';
import { requiredEnv } from '../support/test-env.js';

interface Transfer {
  id: string;
  status: string;
  from_wallet_id: string;
  to_wallet_id: string;
  amount: string;
  failure_code?: string;
}
interface Wallet {
  balance: { posted: string; pending: string; available: string };
}

const profileName = requiredEnv('TEST_STACK_PROFILE');
if (!isProfileName(profileName)) throw new Error(`unknown profile ${profileName}`);
const profile = PROFILES[profileName];
const TERMINAL = ['completed', 'failed', 'cancelled'];
const OPENING_BALANCE = 50_000n;

function service(name: ServiceSpec['name']): ServiceSpec {
  const svc = services(profile).find((s) => s.name === name);
  if (!svc) throw new Error(`no service ${name}`);
  return svc;
}

/** SIGKILLs a service of the test stack: no graceful drain, in-flight work is simply lost. */
function kill(name: ServiceSpec['name']): number {
  const pid = runningPid(stackDir(profile.name), name);
  if (pid === undefined) throw new Error(`${name} is not running`);
  process.kill(-pid, 'SIGKILL');
  return pid;
}

/** The stack's supervisor restarts a killed service (scripts/stack/supervisor.ts): wait for it. */
async function restart(name: ServiceSpec['name'], killedPid?: number) {
  await eventually(
    async () => runningPid(stackDir(profile.name), name),
    (pid) => pid !== undefined && pid !== killedPid,
    60_000,
  );
  await waitServiceReady(profile, service(name));
}

/**
 * Many concurrent transfers while the orchestrator worker and then WalletService are killed
 * with SIGKILL and restarted: every transfer must still end completed (moved once) or
 * failed/cancelled (nothing moved), balances must match exactly the completed transfers, no
 * hold may stay open, and reconciliation must find nothing.
 */
describe('transfers survive a killed worker and a killed wallet service', () => {
  const users: RegisteredUser[] = [];

  beforeAll(async () => {
    const admin = await login(
      requiredEnv('TEST_STACK_ADMIN_EMAIL'),
      requiredEnv('TEST_STACK_ADMIN_PASSWORD'),
    );
    for (let i = 0; i < 6; i++) users.push(await registerAndLogin(`chaos${i}`));
    for (const u of users) {
      const dep = await api('POST', `/v1/admin/wallets/${u.walletId}/deposits`, {
        token: admin,
        idempotencyKey: randomUUID(),
        body: { amount: OPENING_BALANCE.toString(), currency: 'USD', reference: `chaos-${u.userId}` },
      });
      expect(dep.status).toBe(201);
    }
  });

  afterAll(async () => {
    // Leave the stack whole for the files that follow, whatever happened above.
    for (const name of ['worker', 'wallet'] as const) {
      if (runningPid(stackDir(profile.name), name) === undefined) await restart(name);
    }
  });

  it('ends every transfer moved once or not at all, with clean books', { timeout: 300_000 }, async () => {
    // 30 transfers among 6 wallets; amounts up to 30 000 against 50 000 balances, so some fail for funds.
    const planned = Array.from({ length: 30 }, (_, i) => {
      const from = users[i % users.length]!;
      const to = users[(i * 7 + 1) % users.length]!;
      const target = from === to ? users[(i + 1) % users.length]! : to;
      return { from, to: target, amount: String(1_000 + ((i * 7919) % 29_000)) };
    });
    const started = await Promise.all(
      planned.map((p) =>
        api<Transfer>('POST', '/v1/transfers', {
          token: p.from.token,
          idempotencyKey: randomUUID(),
          body: {
            from_wallet_id: p.from.walletId,
            to_wallet_id: p.to.walletId,
            amount: p.amount,
            currency: 'USD',
          },
        }),
      ),
    );
    for (const s of started) expect([200, 201, 202]).toContain(s.status);

    // Kill the worker mid-flight, bring it back; then the wallet service.
    const worker = kill('worker');
    await sleep(1500);
    await restart('worker', worker);
    const wallet = kill('wallet');
    await sleep(2000);
    await restart('wallet', wallet);

    const owners = new Map(users.map((u) => [u.walletId, u]));
    const finals = await Promise.all(
      started.map((s, i) =>
        eventually(
          () => api<Transfer>('GET', `/v1/transfers/${s.body.id}`, { token: planned[i]!.from.token }),
          (r) =>
            r.status === 200 && (TERMINAL.includes(r.body.status) || r.body.status === 'needs_attention'),
          240_000,
        ),
      ),
    );
    const statuses = finals.map((f) => f.body.status);
    expect(statuses.filter((s) => !TERMINAL.includes(s))).toEqual([]);
    expect(statuses).toContain('completed');

    // Exactly the completed transfers moved money, each once.
    const expected = new Map(users.map((u) => [u.walletId, OPENING_BALANCE]));
    for (const f of finals.map((x) => x.body).filter((t) => t.status === 'completed')) {
      expected.set(f.from_wallet_id, expected.get(f.from_wallet_id)! - BigInt(f.amount));
      expected.set(f.to_wallet_id, expected.get(f.to_wallet_id)! + BigInt(f.amount));
    }
    for (const [walletId, balance] of expected) {
      const w = await api<Wallet>('GET', `/v1/wallets/${walletId}`, { token: owners.get(walletId)!.token });
      expect(w.status).toBe(200);
      expect({ wallet: walletId, ...w.body.balance }).toEqual({
        wallet: walletId,
        posted: balance.toString(),
        pending: '0',
        available: balance.toString(),
      });
    }

    // The books close and MongoDB holds every entry exactly once (once the relay caught up).
    await expectCleanBooks();
  });
});
