import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyPkce } from './authorization-codes.js';
import { escapeHtml } from './login-page.js';

const verifierChars = fc.constantFrom(
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'.split(''),
);
const verifier = fc.array(verifierChars, { minLength: 43, maxLength: 128 }).map((cs) => cs.join(''));
const s256 = (v: string) => createHash('sha256').update(v).digest('base64url');

describe('PKCE S256', () => {
  it('accepts exactly the verifier whose SHA-256 is the challenge', () => {
    fc.assert(
      fc.property(verifier, verifier, (a, b) => {
        expect(verifyPkce(a, s256(a))).toBe(true);
        if (a !== b) expect(verifyPkce(b, s256(a))).toBe(false);
      }),
    );
  });

  it('refuses the plain method (verifier equal to the challenge) and malformed verifiers', () => {
    fc.assert(
      fc.property(verifier, (v) => {
        expect(verifyPkce(v, v)).toBe(false);
      }),
    );
    expect(verifyPkce('short', s256('short'))).toBe(false);
    const tooLong = 'a'.repeat(129);
    expect(verifyPkce(tooLong, s256(tooLong))).toBe(false);
  });
});

describe('login page escaping', () => {
  it('never lets markup characters through', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(escapeHtml(s)).not.toMatch(/[<>"'`]/);
      }),
    );
  });
});
