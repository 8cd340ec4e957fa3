import path from 'node:path';
import { ROOT } from './paths.js';
import { httpOk, runningPid, startProcess, waitFor } from './processes.js';
import { requireTool } from './tools.js';

/** True when Mailpit's HTTP API on `port` says it is ready. */
export function mailpitHealthy(port: number): Promise<boolean> {
  return httpOk(`http://127.0.0.1:${port}/readyz`);
}

/**
 * Starts Mailpit, the SMTP catcher AuthService delivers to on the local stack (OTP_DELIVERY=smtp),
 * with its HTTP API and web UI, unless one already answers. Mail lives in a temporary database
 * that goes with the process. Returns true when this call started it.
 */
export async function ensureMailpit(dir: string, ports: { smtp: number; mailpit: number }): Promise<boolean> {
  if (runningPid(dir, 'mailpit') !== undefined || (await mailpitHealthy(ports.mailpit))) {
    await waitFor('Mailpit', () => mailpitHealthy(ports.mailpit), 30_000);
    return false;
  }
  startProcess(
    dir,
    'mailpit',
    requireTool('mailpit'),
    [
      `--smtp=127.0.0.1:${ports.smtp}`,
      `--listen=127.0.0.1:${ports.mailpit}`,
      // No release lookups from a machine that reaches no network but the package registries.
      '--disable-version-check',
      '--quiet',
    ],
    {},
    ROOT,
  );
  await waitFor(
    `Mailpit on port ${ports.mailpit}`,
    () => mailpitHealthy(ports.mailpit),
    30_000,
    path.join(dir, 'logs', 'mailpit.log'),
    () => (runningPid(dir, 'mailpit') === undefined ? 'the process exited' : undefined),
  );
  return true;
}
