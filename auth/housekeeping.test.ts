import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startHousekeeping } from './housekeeping.js';
import { createHarness, type Harness } from './testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe('housekeeping', () => {
  it('deletes refresh-token rows long past their family end and keeps live ones', async () => {
    const user = await h.createUser();
    const old = randomUUID();
    const live = randomUUID();
    await h.db
      .insertInto('refresh_tokens')
      .values([
        {
          family_id: old,
          token_hash: `old-${old}`,
          user_id: user.id,
          client_id: 'velora-app',
          scope: 'wallet',
          expires_at: new Date(Date.now() - 30 * 86_400_000),
        },
        {
          family_id: live,
          token_hash: `live-${live}`,
          user_id: user.id,
          client_id: 'velora-app',
          scope: 'wallet',
          expires_at: new Date(Date.now() + 86_400_000),
        },
      ])
      .execute();
    const stop = startHousekeeping({
      db: h.db,
      keys: h.services.keys,
      log: pino({ level: 'silent' }),
      intervalMs: 60_000,
    });
    try {
      await expect
        .poll(async () =>
          (
            await h.db
              .selectFrom('refresh_tokens')
              .select('family_id')
              .where('user_id', '=', user.id)
              .execute()
          ).map((r) => r.family_id),
        )
        .toEqual([live]);
    } finally {
      stop();
    }
  });
});
