import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool } from '../../scripts/stack/tools.js';
import { eventually } from '../../test/support/api-client.js';
import { codeIn, latestMail, mailsTo } from '../../test/support/mailpit-client.js';
import { testEnv } from '../../test/support/test-env.js';
import { createHarness, memoryLogger, testConfig, uniqueEmail } from '../testing/harness.js';
import { messageSubject } from './message-templates.js';
import { NOTICES, type NotifierMessage } from './notifier.js';
import { OTP_PURPOSES } from './otp.service.js';
import { createSmtpNotifier, SmtpDeliveryError } from './smtp-notifier.js';

/** The test profile's Mailpit: plain SMTP, as the local stack runs it (SMTP_TLS=none). */
const LOCAL_SMTP = { SMTP_HOST: '127.0.0.1', SMTP_TLS: 'none' };

function smtpConfig(overrides: Record<string, string> = {}) {
  return testConfig({ OTP_DELIVERY: 'smtp', ...LOCAL_SMTP, SMTP_PORT: testEnv('smtpPort'), ...overrides });
}

describe('SMTP delivery (OTP_DELIVERY=smtp)', () => {
  it('sends a sign-in code a person reads in their mailbox and can use, and logs neither code nor address', async () => {
    const { log, lines } = memoryLogger();
    const h = await createHarness({
      overrides: { OTP_DELIVERY: 'smtp', ...LOCAL_SMTP, SMTP_PORT: testEnv('smtpPort'), LOG_LEVEL: 'debug' },
      log,
    });
    try {
      expect((await h.json('GET', '/dev/outbox?recipient=a@b.c')).status).toBe(404);
      const user = await h.createUser({ mfa: true });
      const login = await h.login(user.email, user.password);
      expect(login.body.mfa_required).toBe(true);
      const mail = await latestMail(testEnv('mailpitUrl'), user.email, messageSubject('login'));
      const code = codeIn(mail);
      const verified = await h.json('POST', '/v1/auth/otp/verify', {
        challenge_id: login.body.challenge_id,
        code,
      });
      expect(verified.status).toBe(200);
      const text = lines.join('\n');
      expect(text).toContain('message delivered');
      expect(text).not.toContain(code);
      expect(text).not.toContain(user.email);
      expect(text).not.toContain(user.password);
    } finally {
      await h.close();
    }
  });

  it('renders one template per purpose: codes only in code messages, never in a subject', async () => {
    const { log } = memoryLogger();
    const notifier = createSmtpNotifier(smtpConfig(), log);
    const recipient = uniqueEmail('templates');
    const messages: NotifierMessage[] = [
      ...OTP_PURPOSES.map((purpose, i) => ({ recipient, purpose, code: `90000${i}` })),
      ...NOTICES.map((purpose) => ({ recipient, purpose })),
    ];
    for (const message of messages) await notifier.send(message);
    const subjects = messages.map((m) => messageSubject(m.purpose));
    expect(new Set(subjects).size).toBe(messages.length);
    for (const message of messages) {
      const mail = await latestMail(testEnv('mailpitUrl'), recipient, messageSubject(message.purpose));
      if (message.code !== undefined) expect(codeIn(mail)).toBe(message.code);
      else expect(mail.text).not.toMatch(/[0-9]{6}/);
      expect(mail.subject).not.toMatch(/[0-9]{6}/);
    }
  });

  it('with SMTP_TLS=starttls refuses a server that cannot upgrade the connection, naming no address', async () => {
    const { log, lines } = memoryLogger();
    const notifier = createSmtpNotifier(smtpConfig({ SMTP_TLS: 'starttls' }), log);
    const recipient = uniqueEmail('plaintext');
    const sent = notifier.send({ recipient, purpose: 'step_up', code: '123456' });
    await expect(sent).rejects.toBeInstanceOf(SmtpDeliveryError);
    await expect(sent).rejects.not.toThrow(recipient);
    expect(await mailsTo(testEnv('mailpitUrl'), recipient)).toEqual([]);
    expect(lines.join('\n')).toContain('delivery failed');
    expect(lines.join('\n')).not.toContain('123456');
  });
});

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for Mailpit to take). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A relay that speaks STARTTLS only (Mailpit with --smtp-require-starttls), with a certificate
 * issued for 127.0.0.1 by a CA made for this test: trusted only when SMTP_TLS_CA_PATH names it.
 */
describe('SMTP delivery over STARTTLS', () => {
  let dir: string;
  let relay: ChildProcess;
  const ports = { smtp: 0, http: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'velora-smtp-tls-'));
    const openssl = (...args: string[]) => {
      const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`openssl ${args[0]}: ${run.stderr}`);
    };
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=Velora test mail CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    );
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'relay.key',
      '-out',
      'relay.csr',
      '-subj',
      '/CN=127.0.0.1',
    );
    spawnSync(
      'sh',
      ['-c', 'printf "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n" > relay.ext'],
      { cwd: dir },
    );
    openssl(
      'x509',
      '-req',
      '-in',
      'relay.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'relay.ext',
      '-out',
      'relay.pem',
    );
    ports.smtp = await freePort();
    ports.http = await freePort();
    relay = spawn(
      requireTool('mailpit'),
      [
        `--smtp=127.0.0.1:${ports.smtp}`,
        `--listen=127.0.0.1:${ports.http}`,
        `--smtp-tls-cert=${path.join(dir, 'relay.pem')}`,
        `--smtp-tls-key=${path.join(dir, 'relay.key')}`,
        '--smtp-require-starttls',
        '--disable-version-check',
        '--quiet',
      ],
      { stdio: 'ignore' },
    );
    await eventually(
      () =>
        fetch(`http://127.0.0.1:${ports.http}/readyz`).then(
          (r) => r.ok,
          () => false,
        ),
      (ok) => ok,
      20_000,
    );
  });

  afterAll(() => {
    relay?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const relayConfig = (overrides: Record<string, string> = {}) =>
    smtpConfig({ SMTP_TLS: 'starttls', SMTP_PORT: String(ports.smtp), ...overrides });

  it('delivers when the relay certificate chains to SMTP_TLS_CA_PATH', async () => {
    const notifier = createSmtpNotifier(
      relayConfig({ SMTP_TLS_CA_PATH: path.join(dir, 'ca.pem') }),
      memoryLogger().log,
    );
    const recipient = uniqueEmail('tls');
    await notifier.send({ recipient, purpose: 'password_reset', code: '424242' });
    const mail = await latestMail(
      `http://127.0.0.1:${ports.http}`,
      recipient,
      messageSubject('password_reset'),
    );
    expect(codeIn(mail)).toBe('424242');
  });

  it('refuses a relay whose certificate it cannot verify, and sends nothing', async () => {
    const notifier = createSmtpNotifier(relayConfig(), memoryLogger().log);
    const recipient = uniqueEmail('untrusted');
    await expect(notifier.send({ recipient, purpose: 'step_up', code: '515151' })).rejects.toBeInstanceOf(
      SmtpDeliveryError,
    );
    expect(await mailsTo(`http://127.0.0.1:${ports.http}`, recipient)).toEqual([]);
  });
});
