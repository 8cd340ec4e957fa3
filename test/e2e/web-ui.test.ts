import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Client } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED_ENCODING } from '../../lib/payload-codec.js';
import { ROOT } from '../../scripts/stack/paths.js';
import { isProfileName, PROFILES } from '../../scripts/stack/profile.js';
import {
  retryCompensation,
  transferWorkflowId,
  type Transfer as FullTransfer,
} from '../../workflows/transfer-contract.js';
import { api, eventually, registerAndLogin, type RegisteredUser } from '../support/api-client.js';
import { expectCleanBooks } from '../support/books.js';
import { depositAsAdmin, loginAsAdmin } from '../support/funding.js';
import { lockTransferHold, type HoldLock } from '../support/hold-lock.js';
import { stackTemporalClient, startSignedTransfer } from '../support/signed-transfer.js';

/**
 * Issue 13, item 6: the operator path, in a real browser. Headless Chromium (Debian's package;
 * scripts/install-tools.sh installs it) opens the test stack's Temporal Web UI, and an operator
 * finds a transfer by its search attributes and reads what Temporal only stores encrypted: the
 * workflow's summary, its input and result, and a running transfer's current details, decoded
 * by the worker's codec server (docs/runbook.md, "Reading payloads").
 *
 * The codec server answers only an authenticated operator. The dev server's
 * `--ui-codec-endpoint` makes the UI call it without credentials (401: the payloads stay
 * ciphertext), so the operator does what the runbook says: opens a codec session at the codec
 * server with an admin access token (an HttpOnly, SameSite=Strict cookie), then in the UI's
 * codec settings uses the browser endpoint with "Include cross-origin credentials". Nothing is
 * opened on the codec server for this.
 *
 * Last, the runbook's "A transfer in `needs_attention`" done in the browser on a transfer that is
 * really parked there: its release blocked inside WalletService by a row lock on its hold, found
 * by `TransferStatus`, read, then — the lock ended — its `retryCompensation` signal sent from
 * the workflow's "Send a Signal" action, and the compensation completes. Screenshots:
 * .stack/test-results/web-ui/.
 */

const profileName = process.env.TEST_STACK_PROFILE ?? 'test';
if (!isProfileName(profileName)) throw new Error(`TEST_STACK_PROFILE: unknown profile ${profileName}`);
const profile = PROFILES[profileName];
const UI = `http://127.0.0.1:${profile.ports.temporalUi}`;
const CODEC = `http://127.0.0.1:${profile.ports.codec}`;
const SCREENSHOTS = path.join(ROOT, '.stack/test-results/web-ui');
/** `binary/encrypted` (lib/payload-codec.ts) in base64, as the UI shows an undecoded payload's encoding. */
const ENCRYPTED = Buffer.from(ENCRYPTED_ENCODING).toString('base64');

/** Debian's Chromium (playwright-core brings no browser), or CHROMIUM_PATH. */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: run scripts/install-tools.sh (apt-get install chromium)');
  }
}

interface Transfer {
  id: string;
  status: string;
}

interface Balance {
  posted: string;
  pending: string;
  available: string;
}

async function balanceOf(user: RegisteredUser): Promise<Balance> {
  const res = await api<{ balance: Balance }>('GET', `/v1/wallets/${user.walletId}`, { token: user.token });
  expect(res.status).toBe(200);
  return res.body.balance;
}

async function startTransfer(from: RegisteredUser, to: RegisteredUser, amount: string, description: string) {
  const started = await api<Transfer>('POST', '/v1/transfers', {
    token: from.token,
    idempotencyKey: randomUUID(),
    headers: { prefer: 'wait=20' },
    body: { from_wallet_id: from.walletId, to_wallet_id: to.walletId, amount, currency: 'USD', description },
  });
  expect([200, 201, 202]).toContain(started.status);
  return started.body.id;
}

describe('the Temporal Web UI, as an operator uses it', () => {
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let paid: string;
  let waiting: string;
  const description = `web-ui lunch ${randomUUID().slice(0, 8)}`;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let temporal: Client | undefined;
  let holdLock: HoldLock | undefined;
  /** The transfer the last test parks in needs_attention. */
  let parked: string | undefined;

  async function screenshot(name: string) {
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  /** Waits until a frame of the page shows `text`: the UI renders user metadata's markdown in iframes. */
  async function seeInSomeFrame(text: string | RegExp) {
    await expect
      .poll(
        async () => {
          for (const frame of page.frames()) if ((await frame.getByText(text).count()) > 0) return true;
          return false;
        },
        { timeout: 30_000 },
      )
      .toBe(true);
  }

  /** Types a visibility query into the workflow list's query box, as an operator does. */
  async function findWorkflows(query: string) {
    await page.goto(`${UI}/namespaces/default/workflows`);
    await page.getByTestId('toggle-manual-query').click();
    const box = page.getByTestId('manual-search-input');
    await box.fill(query);
    await box.press('Enter');
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    [alice, bob] = await Promise.all([registerAndLogin('web-ui-alice'), registerAndLogin('web-ui-bob')]);
    // Enough for the two transfers that wait holding 150000 each (`waiting` and the parked one).
    await depositAsAdmin(alice.walletId, '400000', 'e2e-web-ui');
    paid = await startTransfer(alice, bob, '2500', description);
    await eventually(
      () => api<Transfer>('GET', `/v1/transfers/${paid}`, { token: alice.token }),
      (r) => r.body.status === 'completed',
    );
    // Above the step-up threshold (100000): the transfer runs on, waiting for Alice's OTP.
    waiting = await startTransfer(alice, bob, '150000', 'web-ui laptop');
    await eventually(
      () => api<Transfer>('GET', `/v1/transfers/${waiting}`, { token: alice.token }),
      (r) => r.body.status === 'awaiting_confirmation',
    );
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      // As root, without a sandbox; and none of Chromium's own calls home (the network is closed).
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
  }, 180_000);

  // What the browser showed when each test ended, passed or not.
  afterEach(async ({ task }) => {
    await page?.screenshot({
      path: path.join(SCREENSHOTS, `last-${task.name.slice(0, 30).replace(/\W+/g, '-')}.png`),
    });
  });

  afterAll(async () => {
    // First: a hold left locked would block WalletService's release for every later e2e file.
    await holdLock?.end();
    // A test that failed half-way leaves the parked transfer holding funds (in needs_attention
    // for an hour): clean up — cancel, and the same signal from this client, not the UI — so no
    // hold outlives this file.
    if (temporal && parked) {
      const id = parked;
      const read = () => api<Transfer>('GET', `/v1/transfers/${id}`, { token: alice.token });
      if ((await read()).body.status === 'awaiting_confirmation') {
        await api('POST', `/v1/transfers/${id}/cancel`, { token: alice.token });
      }
      const settled = await eventually(
        read,
        (r) => ['needs_attention', 'cancelled'].includes(r.body.status),
        90_000,
      );
      if (settled.body.status === 'needs_attention') {
        await temporal.workflow.getHandle(transferWorkflowId(id)).signal(retryCompensation);
      }
      await eventually(read, (r) => r.body.status === 'cancelled', 60_000);
    }
    await temporal?.connection.close();
    await browser?.close();
    if (waiting) {
      const cancelled = await api<Transfer>('POST', `/v1/transfers/${waiting}/cancel`, {
        token: alice.token,
      });
      expect(cancelled.status).toBe(200);
    }
    await expectCleanBooks();
  }, 120_000);

  it('without a codec session the codec server refuses the UI (401) and the payloads stay encrypted', async () => {
    const refused = page.waitForResponse((r) => r.url().startsWith(`${CODEC}/decode`));
    await page.goto(`${UI}/namespaces/default/workflows/transfer-${paid}`);
    expect((await refused).status()).toBe(401);
    // The input as Temporal stores it: its metadata `encoding` is base64 of "binary/encrypted".
    await page.getByText(ENCRYPTED).first().waitFor({ timeout: 30_000 });
    expect(await page.getByText(description).count()).toBe(0);
    await screenshot('1-without-codec-session');
  }, 120_000);

  it('with a codec session and "Include cross-origin credentials", finds the transfer by its search attributes and reads it decoded', async () => {
    // 1. The codec server's sign-in form, with the admin's access token.
    await page.goto(`${CODEC}/`);
    await page.locator('input[name=token]').fill(await loginAsAdmin());
    await page.getByRole('button', { name: 'Open a codec session' }).click();
    await page.getByText('Codec session open').waitFor();

    // 2. The UI's codec settings: this browser's endpoint, with cross-origin credentials. The
    // settings drawer slides under the UI's sticky header at this size: keys, not clicks.
    await page.goto(`${UI}/namespaces/default/workflows`);
    await page.getByTestId('data-encoder-status-configured').click();
    await page.getByTestId('override-accordion').click();
    await page.locator('#use-local-endpoint-radio').check();
    await page.getByTestId('data-encoder-endpoint-input').fill(CODEC);
    const credentials = page.getByRole('switch', { name: 'Include cross-origin credentials' });
    await credentials.focus();
    await page.keyboard.press('Space');
    expect(await credentials.isChecked()).toBe(true);
    await screenshot('2-codec-settings');
    await page.getByTestId('confirm-data-encoder-button').focus();
    await page.keyboard.press('Enter');

    // 3. Find it by its search attributes.
    await findWorkflows(`TransferStatus = "completed" AND FromWalletId = "${alice.walletId}"`);
    const link = page.getByRole('link', { name: `transfer-${paid}` });
    await link.waitFor({ timeout: 30_000 });
    expect(await page.getByRole('link', { name: `transfer-${waiting}` }).count()).toBe(0);
    await screenshot('3-found-by-search-attributes');

    // 4. Open it: its input and result, then its summary, decoded through the codec server,
    // which the browser now calls with the session cookie.
    const decoded = page.waitForResponse((r) => r.url().startsWith(`${CODEC}/decode`));
    await link.click();
    expect((await decoded).status()).toBe(200);
    await page.getByText(description).first().waitFor({ timeout: 30_000 });
    // Input, result and the history's rows decode one request each: all of them, soon.
    await expect.poll(() => page.getByText(ENCRYPTED).count(), { timeout: 30_000 }).toBe(0);
    await screenshot('4-transfer-decoded');
    await page.getByRole('tab', { name: /User Metadata/ }).click();
    await seeInSomeFrame(`Transfer 2500 USD (minor units) ${alice.walletId} → ${bob.walletId}`);
    await seeInSomeFrame(/completed\s+—\s+2500 USD/);
    await screenshot('5-transfer-summary');
  }, 180_000);

  it('a running transfer shows where it stands: its current details, decoded (waiting for the OTP)', async () => {
    await findWorkflows(`TransferStatus = "awaiting_confirmation" AND InitiatedBy = "${alice.userId}"`);
    const link = page.getByRole('link', { name: `transfer-${waiting}` });
    await link.waitFor({ timeout: 30_000 });
    await link.click();
    // The current details are the answer of the workflow's metadata query: a worker replies.
    await page.getByRole('tab', { name: /User Metadata/ }).click();
    await seeInSomeFrame(/awaiting_confirmation\s+—\s+150000 USD/);
    await seeInSomeFrame(/step_up: running/);
    await screenshot('6-running-transfer-current-details');
  }, 120_000);

  it('a transfer parked in needs_attention (its release blocked in WalletService) is found, read, and its compensation retried from "Send a Signal"', async () => {
    const before = await balanceOf(alice);

    // 1. Above the step-up threshold: it holds the funds while it waits for Alice's code. A
    // release round gives up after 20 s (not 10 min), and nothing retries by itself for an hour.
    temporal = await stackTemporalClient();
    const id = await startSignedTransfer(temporal, alice, bob, '150000', 'web-ui parked', {
      wallet_round_ms: 20_000,
      attention_retry_ms: 3_600_000,
    });
    parked = id;
    const read = () => api<FullTransfer>('GET', `/v1/transfers/${id}`, { token: alice.token });
    await eventually(read, (r) => r.body.status === 'awaiting_confirmation');
    const held = await balanceOf(alice);
    expect(BigInt(held.pending) - BigInt(before.pending)).toBe(150_000n);

    // 2. and 3. The hold's row locked, Alice cancels: the release waits on the lock until
    // WalletService's statement timeout, attempt after attempt, until its round runs out.
    holdLock = await lockTransferHold(id);
    const cancelled = await api<FullTransfer>('POST', `/v1/transfers/${id}/cancel`, {
      token: alice.token,
    });
    expect(cancelled.status).toBe(200);
    const stuck = await eventually(read, (r) => r.body.status === 'needs_attention', 120_000);
    expect(stuck.body.steps.find((s) => s.name === 'reserve')).toMatchObject({
      status: 'compensation_failed',
    });
    expect(await balanceOf(alice)).toEqual(held);

    // 4. The operator finds it by its status, opens it, reads what it is and what it waits on.
    await findWorkflows(`TransferStatus = "needs_attention" AND InitiatedBy = "${alice.userId}"`);
    const link = page.getByRole('link', { name: transferWorkflowId(id) });
    await link.waitFor({ timeout: 30_000 });
    await screenshot('7-found-needs-attention');
    await link.click();
    await page.getByRole('tab', { name: /User Metadata/ }).click();
    await seeInSomeFrame(`Transfer 150000 USD (minor units) ${alice.walletId} → ${bob.walletId}`);
    await screenshot('8-parked-transfer-summary');
    await seeInSomeFrame(/needs_attention\s+—\s+150000 USD/);
    await seeInSomeFrame(/reserve: compensation_failed/);
    await seeInSomeFrame(/needs attention: undo of reserve failed/);
    await screenshot('9-parked-transfer-waits-on');

    // The cause fixed (the lock ended): nothing moves until the operator says so.
    await holdLock.end();
    expect((await read()).body.status).toBe('needs_attention');

    // "More Actions" → "Send a Signal": the signal chosen from the ones the workflow declares
    // (its metadata query, decoded through the codec session), no input.
    await page.getByRole('button', { name: 'More Actions' }).click();
    // The UI renders the actions menu and its dialogs twice (wide and narrow layouts): the ones
    // on screen.
    await page.getByTestId('signal-button').filter({ visible: true }).click();
    const modal = page.getByTestId('signal-confirmation-modal').filter({ visible: true });
    await modal.getByRole('heading', { name: 'Send a Signal' }).waitFor();
    await modal.getByTestId('signal-select-button').click();
    await modal.getByRole('option', { name: retryCompensation.name }).click();
    await screenshot('10-send-retry-compensation');
    await modal.getByRole('button', { name: 'Submit' }).click();
    await page.getByText('Workflow signaled.').waitFor({ timeout: 30_000 });

    // 5. The release runs again and the compensation completes: cancelled, funds back.
    const done = await eventually(read, (r) => r.body.status === 'cancelled', 60_000);
    expect(done.body.failure_code).toBe('cancelled_by_user');
    expect(done.body.steps.find((s) => s.name === 'reserve')).toMatchObject({ status: 'compensated' });
    expect(await balanceOf(alice)).toEqual(before);
    // Exactly one signal reached the workflow: the UI's (nothing else in this file sends one).
    const history = await temporal.workflow.getHandle(transferWorkflowId(id)).fetchHistory();
    const signals = (history.events ?? []).filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === retryCompensation.name,
    );
    expect(signals).toHaveLength(1);
    // The operator sees it closed: cancelled, the run completed (its compensation finished).
    await findWorkflows(
      `TransferStatus = "cancelled" AND ExecutionStatus = "Completed" AND InitiatedBy = "${alice.userId}"`,
    );
    const closed = page.getByRole('link', { name: transferWorkflowId(id) });
    await closed.waitFor({ timeout: 30_000 });
    await closed.click();
    await page.getByRole('tab', { name: /User Metadata/ }).click();
    await seeInSomeFrame(`Transfer 150000 USD (minor units) ${alice.walletId} → ${bob.walletId}`);
    await screenshot('11-compensation-completed');
    await expectCleanBooks();
  }, 300_000);
});
