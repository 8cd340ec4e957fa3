import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * The common-password list: the 49,000-entry `passwords-common` dictionary of
 * @zxcvbn-ts/language-common (MIT; built from leaked-password frequency lists, see
 * https://github.com/zxcvbn-ts/zxcvbn). Compared case-insensitively.
 */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  dictionary['passwords-common'].map((p) => p.toLowerCase()),
);

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export type PasswordProblem = 'too_short' | 'too_long' | 'common' | 'contains_email';

export function commonPasswordCount(): number {
  return COMMON_PASSWORDS.size;
}

/**
 * ASVS V6.2: length 8–128 counted in Unicode code points (never truncated), not a known
 * common password, not the account's own email. No composition rules (ASVS 6.2.5).
 */
export function checkPassword(password: string, email?: string): PasswordProblem | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return 'too_short';
  if (length > PASSWORD_MAX_LENGTH) return 'too_long';
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'common';
  if (email) {
    const local = email.split('@')[0] ?? '';
    if (lower === email.toLowerCase() || (local.length >= 4 && lower === local.toLowerCase()))
      return 'contains_email';
  }
  return undefined;
}

/** Normalises an email for storage and lookup: trimmed, Unicode NFC, lower case. */
export function normaliseEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}
