import { describe, expect, it } from 'vitest';
import { acquireStackLock, lockHolder, StackLockBusy } from './lock.js';

// A profile name no stack uses, unique per run, so this test never contends with a real command.
const profile = `lock-test-${process.pid}`;

describe('the stack lock', () => {
  it('lets one command in, names it to a second one, and lets the second in once released', async () => {
    const first = await acquireStackLock(profile, 'up');
    expect(await lockHolder(profile)).toMatchObject({ pid: process.pid, command: 'up' });

    const refused = await acquireStackLock(profile, 'down', { waitMs: 500 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StackLockBusy);
    expect((refused as StackLockBusy).holder).toMatchObject({ command: 'up' });

    let waiting!: (holder: string | undefined) => void;
    const waitedFor = new Promise<string | undefined>((resolve) => (waiting = resolve));
    const second = acquireStackLock(profile, 'down', {
      waitMs: 30_000,
      onWait: (holder) => waiting(holder?.command),
    });
    expect(await waitedFor).toBe('up');
    await first.release();
    const lock = await second;
    expect(await lockHolder(profile)).toMatchObject({ command: 'down' });
    await lock.release();
    expect(await lockHolder(profile)).toBeUndefined();
  });
});
