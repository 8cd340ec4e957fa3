import { describe, expect, it } from 'vitest';
import type { Transfer } from '../../workflows/transfer-contract.js';
import { decodeListCursor, encodeListCursor, mergeListPage, type ListPosition } from './transfer-records.js';

function transfer(id: string, second: number, status: Transfer['status'] = 'completed'): Transfer {
  return {
    id,
    status,
    from_wallet_id: 'w1',
    to_wallet_id: 'w2',
    amount: '100',
    currency: 'USD',
    description: '',
    steps: [],
    created_at: new Date(Date.UTC(2026, 10, 30, 12, 0, second)).toISOString(),
  };
}

/** Pages through `archived` ∪ `live` as the list route does, `limit` at a time. */
function pageAll(archived: Transfer[], live: { transfer: Transfer; running: boolean }[], limit: number) {
  const seen: string[] = [];
  let after: ListPosition | undefined;
  for (let i = 0; i < 20; i++) {
    // The archive answers limit + 1 after the cursor, newest first, like WalletService.
    const page = archived
      .filter(
        (t) =>
          !after || t.created_at < after.created_at || (t.created_at === after.created_at && t.id < after.id),
      )
      .sort((a, b) =>
        a.created_at === b.created_at ? b.id.localeCompare(a.id) : b.created_at.localeCompare(a.created_at),
      )
      .slice(0, limit + 1);
    const merged = mergeListPage(page, live, after, limit);
    seen.push(...merged.items.map((t) => t.id));
    if (!merged.next) return seen;
    after = decodeListCursor(encodeListCursor(merged.next));
  }
  throw new Error('did not end');
}

describe('transfer list pages (archive merged with live runs)', () => {
  it('lists each transfer once, newest first, across pages, whichever source holds it', () => {
    const archived = [transfer('a', 1), transfer('b', 2), transfer('c', 3), transfer('e', 5)];
    const live = [
      { transfer: transfer('d', 4, 'processing'), running: true },
      // Closed after the archive's checkpoint but already archived: the record is used once.
      { transfer: transfer('e', 5, 'failed'), running: false },
      { transfer: transfer('f', 6, 'awaiting_confirmation'), running: true },
    ];
    for (const limit of [1, 2, 3, 10]) {
      expect(pageAll(archived, live, limit)).toEqual(['f', 'e', 'd', 'c', 'b', 'a']);
    }
    const first = mergeListPage(archived, live, undefined, 10);
    expect(first.items.find((t) => t.id === 'e')?.status).toBe('completed');
    expect(first.next).toBeNull();
  });

  it('orders transfers created in the same millisecond by id, so the position is total', () => {
    const archived = [transfer('x1', 7), transfer('x3', 7)];
    const live = [{ transfer: transfer('x2', 7, 'processing'), running: true }];
    expect(pageAll(archived, live, 1)).toEqual(['x3', 'x2', 'x1']);
  });

  it('a run started again (a reset) shows its running view, not its old record', () => {
    const merged = mergeListPage(
      [transfer('r', 1, 'failed')],
      [{ transfer: transfer('r', 1, 'processing'), running: true }],
      undefined,
      5,
    );
    expect(merged.items.map((t) => t.status)).toEqual(['processing']);
  });

  it('refuses a cursor it did not write', () => {
    for (const bad of [
      'not-a-cursor',
      Buffer.from('{"t":"yesterday","i":"a"}').toString('base64url'),
      Buffer.from('[]').toString('base64url'),
    ]) {
      expect(() => decodeListCursor(bad)).toThrow(/cursor/);
    }
  });
});
