/**
 * The detached supervisor `up` leaves running (pid file `.stack/<profile>/pids/supervisor.pid`,
 * log `.stack/<profile>/logs/supervisor.log`); `down` stops it before the components.
 *   node --import tsx scripts/stack/supervisor-main.ts --profile <name> --mongo-url <url>
 */
import { parseArgs } from 'node:util';
import { isProfileName, PROFILES } from './profile.js';
import { supervise } from './supervisor.js';

const { values } = parseArgs({
  options: { profile: { type: 'string' }, 'mongo-url': { type: 'string' } },
});
const profileName = values.profile ?? '';
const mongoUrl = values['mongo-url'];
if (!isProfileName(profileName) || !mongoUrl) {
  console.error('usage: supervisor-main.ts --profile <dev|test|scratch> --mongo-url <url>');
  process.exit(2);
}

const stop = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort());

const log = (entry: Record<string, unknown>) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', ...entry }));
log({ msg: 'supervisor started', profile: profileName, pid: process.pid });
await supervise(PROFILES[profileName], mongoUrl, stop.signal, log).catch((err: unknown) => {
  if (!stop.signal.aborted) {
    log({ msg: 'supervisor failed', error: String(err), level: 'error' });
    process.exitCode = 1;
  }
});
log({ msg: 'supervisor stopped' });
