import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPassword,
  normaliseEmail,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
} from './password-policy.js';
import { hashPassword, verifyPassword } from './password-hasher.js';

describe('password policy properties', () => {
  it('judges length in code points: any length outside 8–128 is refused, never cut', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 0, maxLength: 200 }), (s) => {
        const n = [...s].length;
        const verdict = checkPassword(s);
        if (n < PASSWORD_MIN_LENGTH) expect(verdict).toBe('too_short');
        else if (n > PASSWORD_MAX_LENGTH) expect(verdict).toBe('too_long');
        else expect(verdict === undefined || verdict === 'common').toBe(true);
      }),
    );
  });

  it('normalises emails idempotently to lower case without surrounding space', () => {
    fc.assert(
      fc.property(fc.emailAddress(), fc.constantFrom('', ' ', '\t'), (email, pad) => {
        const once = normaliseEmail(`${pad}${email.toUpperCase()}${pad}`);
        expect(normaliseEmail(once)).toBe(once);
        expect(once).toBe(once.trim().toLowerCase());
      }),
    );
  });
});

describe('password hashing', () => {
  it('uses Argon2id with m >= 19 MiB, t >= 2, p = 1 and verifies the full password (no truncation)', async () => {
    const long = `${'x'.repeat(100)}-tail-A`;
    const hash = await hashPassword(long);
    expect(hash.startsWith('$argon2id$v=19$')).toBe(true);
    const params = Object.fromEntries(
      hash
        .split('$')[3]!
        .split(',')
        .map((kv) => kv.split('=') as [string, string]),
    );
    const { m, t, p } = params;
    expect(Number(p)).toBe(1);
    expect(Number(m)).toBeGreaterThanOrEqual(19_456);
    expect(Number(t)).toBeGreaterThanOrEqual(2);
    expect(await verifyPassword(hash, long)).toBe(true);
    expect(await verifyPassword(hash, `${'x'.repeat(100)}-tail-B`)).toBe(false);
    expect(await verifyPassword('not-a-hash', long)).toBe(false);
  });
});
