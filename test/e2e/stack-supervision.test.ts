import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { components, type Component } from '../../scripts/stack/components.js';
import { stackDir } from '../../scripts/stack/paths.js';
import { isProfileName, PROFILES } from '../../scripts/stack/profile.js';
import { runningPid } from '../../scripts/stack/processes.js';
import { stackStatus } from '../../scripts/stack/stack.js';
import {
  api,
  login,
  registerAndLogin,
  type ApiResponse,
  type RegisteredUser,
} from '../support/api-client.js';
import { expectCleanBooks } from '../support/books.js';
import { requiredEnv } from '../support/test-env.js';

interface Transfer {
  id: string;
  status: string;
  from_wallet_id: string;
  to_wallet_id: string;
  amount: string;
}
interface Wallet {
  balance: { posted: string; pending: string; available: string };
}

const profileName = requiredEnv('TEST_STACK_PROFILE');
if (!isProfileName(profileName)) throw new Error(`unknown profile ${profileName}`);
const profile = PROFILES[profileName];
const dir = stackDir(profile.name);
const TERMINAL = ['completed', 'failed', 'cancelled'];
const OPENING_BALANCE = 50_000n;
/** Killed in this order: the edge first, Temporal and the MongoDB wire server last. */
const KILL_ORDER = [
  'gateway',
  'auth',
  'wallet',
  'worker',
  'payout-sim',
  'temporal',
  'ferretdb',
  'mongod',
  'mailpit',
];

/**
 * Calls the gateway until it answers something other than "not there right now": a refused
 * connection, or 502/503/504 while a component is down. Transfers are retried with the same
 * Idempotency-Key, so a retry can never move money twice.
 */
async function answered<T>(
  call: () => Promise<ApiResponse<T>>,
  timeoutMs = 180_000,
): Promise<ApiResponse<T>> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    try {
      const res = await call();
      if (![502, 503, 504].includes(res.status)) return res;
      last = `${res.status} ${JSON.stringify(res.body)}`;
    } catch (err) {
      last = String(err);
    }
    await sleep(500);
  }
  throw new Error(`no answer within ${timeoutMs} ms; last: ${last}`);
}

/**
 * The stack's supervisor at work (scripts/stack/supervisor.ts): each component of the running
 * stack is killed with SIGKILL while transfers keep arriving, and nobody restarts it by hand.
 * Each must come back (a new pid that answers its health check, counted in `status`), every
 * transfer must end moved once or not at all, balances must match the completed transfers
 * exactly, no hold may stay open, and reconciliation must find nothing.
 */
describe('the supervised stack', () => {
  const users: RegisteredUser[] = [];
  const killed: Component[] = components(profile)
    .filter((c) => runningPid(dir, c.name) !== undefined)
    .sort((a, b) => KILL_ORDER.indexOf(a.name) - KILL_ORDER.indexOf(b.name));

  beforeAll(async () => {
    const admin = await login(
      requiredEnv('TEST_STACK_ADMIN_EMAIL'),
      requiredEnv('TEST_STACK_ADMIN_PASSWORD'),
    );
    for (let i = 0; i < 4; i++) users.push(await registerAndLogin(`supervised${i}`));
    for (const u of users) {
      const dep = await api('POST', `/v1/admin/wallets/${u.walletId}/deposits`, {
        token: admin,
        idempotencyKey: randomUUID(),
        body: { amount: OPENING_BALANCE.toString(), currency: 'USD', reference: `supervised-${u.userId}` },
      });
      expect(dep.status).toBe(201);
    }
  });

  afterAll(async () => {
    // Leave the stack whole for the files that follow: wait for the supervisor to finish.
    for (const component of killed) {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline && !(runningPid(dir, component.name) && (await component.healthy())))
        await sleep(500);
    }
  });

  it(
    'brings back gateway, auth, wallet, worker, payout-sim, Temporal, the MongoDB wire server and Mailpit killed mid-transfer, with exact books',
    { timeout: 600_000 },
    async () => {
      // Every component this stack runs is one the test kills (none is someone else's).
      expect(killed.map((c) => c.name).sort()).toEqual(
        [
          'auth',
          'gateway',
          'mailpit',
          'payout-sim',
          'temporal',
          'wallet',
          'worker',
          components(profile)[1]!.name,
        ].sort(),
      );

      // A steady trickle of transfers for as long as the kills last; amounts up to 12 000
      // against 50 000 balances, so some fail for funds late in the run.
      const submitted: Promise<{ user: RegisteredUser; transfer: Transfer }>[] = [];
      let stop = false;
      const load = (async () => {
        for (let i = 0; !stop; i++) {
          const user = users[i % users.length]!;
          const to = users[(i + 1 + (i % 3)) % users.length]!;
          const key = randomUUID();
          const body = {
            from_wallet_id: user.walletId,
            to_wallet_id: to.walletId,
            amount: String(500 + ((i * 7919) % 11_500)),
            currency: 'USD',
          };
          submitted.push(
            answered(() =>
              api<Transfer>('POST', '/v1/transfers', { token: user.token, idempotencyKey: key, body }),
            ).then((res) => {
              expect([200, 201, 202], JSON.stringify(res.body)).toContain(res.status);
              return { user, transfer: res.body };
            }),
          );
          await sleep(400);
        }
      })();

      for (const component of killed) {
        const before = runningPid(dir, component.name)!;
        process.kill(-before, 'SIGKILL');
        const deadline = Date.now() + 180_000;
        let back = false;
        while (!back && Date.now() < deadline) {
          await sleep(500);
          const pid = runningPid(dir, component.name);
          back = pid !== undefined && pid !== before && (await component.healthy());
        }
        expect(back, `${component.name} came back after SIGKILL`).toBe(true);
        await sleep(2000); // transfers flow through the restarted component before the next kill
      }
      stop = true;
      await load;
      const transfers = await Promise.all(submitted);
      expect(transfers.length).toBeGreaterThan(10);

      // The supervisor counted each restart, and `status` shows it.
      const rows = await stackStatus(profile);
      for (const component of killed) {
        const row = rows.find((r) => r.name === component.name);
        expect({ name: component.name, up: row?.up, restarted: (row?.restarts ?? 0) >= 1 }).toEqual({
          name: component.name,
          up: true,
          restarted: true,
        });
      }

      const finals = await Promise.all(
        transfers.map(async ({ user, transfer }) => {
          const deadline = Date.now() + 240_000;
          for (;;) {
            const res = await answered(() =>
              api<Transfer>('GET', `/v1/transfers/${transfer.id}`, { token: user.token }),
            );
            if (res.status === 200 && TERMINAL.includes(res.body.status)) return res.body;
            if (Date.now() > deadline) return res.body;
            await sleep(1000);
          }
        }),
      );
      expect(finals.filter((t) => !TERMINAL.includes(t.status))).toEqual([]);
      expect(finals.map((t) => t.status)).toContain('completed');

      // Exactly the completed transfers moved money, each once.
      const expected = new Map(users.map((u) => [u.walletId, OPENING_BALANCE]));
      for (const t of finals.filter((x) => x.status === 'completed')) {
        expected.set(t.from_wallet_id, expected.get(t.from_wallet_id)! - BigInt(t.amount));
        expected.set(t.to_wallet_id, expected.get(t.to_wallet_id)! + BigInt(t.amount));
      }
      for (const u of users) {
        const w = await answered(() => api<Wallet>('GET', `/v1/wallets/${u.walletId}`, { token: u.token }));
        expect(w.status).toBe(200);
        const balance = expected.get(u.walletId)!.toString();
        expect({ wallet: u.walletId, ...w.body.balance }).toEqual({
          wallet: u.walletId,
          posted: balance,
          pending: '0',
          available: balance,
        });
      }
      await expectCleanBooks();
    },
  );
});
