import argon2 from 'argon2';

/**
 * Argon2id with OWASP's minimum parameters (19 MiB, t=2, p=1). Raising them later is safe:
 * `needsRehash` tells login to re-hash with the new ones.
 */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export async function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    // A malformed stored hash is a failed login, not a 500 that would reveal the account exists.
    return false;
  }
}

export function needsRehash(hash: string): boolean {
  return argon2.needsRehash(hash, ARGON2_OPTIONS);
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password made once per process. Logins for unknown emails verify against
 * it, so they cost the same Argon2 work as logins for known ones (no timing enumeration).
 */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(`dummy-${Math.random()}-${Date.now()}`);
  return dummy;
}
