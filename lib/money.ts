import { z } from 'zod';
import { ISO_4217_MINOR_UNITS } from './iso-4217.js';

/** The largest amount PostgreSQL's `bigint` can hold: 2^63 − 1 minor units. */
export const MAX_AMOUNT = 9_223_372_036_854_775_807n;

/** True when `code` is an ISO 4217 alpha code of list one with a minor unit (lib/iso-4217.ts). */
export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && Object.hasOwn(ISO_4217_MINOR_UNITS, code);
}

/**
 * The number of minor-unit digits ISO 4217 defines for a currency (2 for USD and HUF, 0 for JPY,
 * 3 for KWD and IQD, 4 for CLF). Throws for a code that is not in the table: callers pass codes
 * that {@link currencySchema} (or the database's rows, written through it) already accepted.
 */
export function currencyExponent(code: string): number {
  if (!isCurrency(code)) throw new RangeError(`not an ISO 4217 currency: ${JSON.stringify(code)}`);
  return ISO_4217_MINOR_UNITS[code]!;
}

/** A currency code: three upper-case letters of a known ISO 4217 currency. */
export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 alpha code such as "USD"')
  .refine(isCurrency, 'unknown currency');

/**
 * A positive amount in minor units written as a JSON string of digits ("1050" is 10.50 USD).
 * Rejects numbers, signs, decimals, exponents, leading zeros and values beyond `bigint`.
 */
export const amountSchema = z
  .string({ error: 'must be a string of digits in minor units, e.g. "1050"' })
  .regex(/^[1-9][0-9]{0,18}$/, 'must be a positive integer in minor units written as a string of digits')
  .transform((s) => BigInt(s))
  .refine((n) => n <= MAX_AMOUNT, 'exceeds the largest supported amount');

/**
 * A limit in minor units (per-transfer or daily, as AuthService states it; a wallet's overdraft):
 * like an amount, but zero is allowed (a limit of nothing).
 */
export const limitSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,18})$/, 'must be a non-negative integer in minor units written as a string')
  .transform(BigInt)
  .refine((n) => n <= MAX_AMOUNT, 'exceeds the largest supported amount');
