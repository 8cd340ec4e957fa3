import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isUuid } from './uuid.js';

describe('isUuid', () => {
  it('accepts a UUID in canonical form, in either case', () => {
    const id = randomUUID();
    expect(isUuid(id)).toBe(true);
    expect(isUuid(id.toUpperCase())).toBe(true);
    expect(isUuid('00000000-0000-0000-0000-000000000000')).toBe(true);
  });

  it('refuses anything else, so it can never reach a query as an id', () => {
    const id = randomUUID();
    for (const value of [
      '',
      'not-a-uuid',
      id.replaceAll('-', ''),
      `{${id}}`,
      `${id} `,
      `${id}\n`,
      id.slice(0, -1),
      `${id}0`,
      id.replace(/^./, 'g'),
      '..%2Finternal%2Freconciliation',
      `${id}' or '1'='1`,
    ])
      expect(isUuid(value), JSON.stringify(value)).toBe(false);
  });
});
