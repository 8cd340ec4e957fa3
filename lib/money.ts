import { z } from 'zod';

/** The largest amount PostgreSQL's `bigint` can hold: 2^63 − 1 minor units. */
export const MAX_AMOUNT = 9_223_372_036_854_775_807n;

/**
 * ISO 4217 alpha codes known to the runtime's ICU data (Node ships full ICU), so the list and
 * each currency's minor-unit exponent come from a maintained source rather than a table here.
 */
const KNOWN_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** True when `code` is an ISO 4217 alpha code this deployment accepts. */
export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && KNOWN_CURRENCIES.has(code);
}

const exponents = new Map<string, number>();

/** The number of minor-unit digits of a currency (2 for USD, 0 for JPY, 3 for KWD). */
export function currencyExponent(code: string): number {
  // Building an Intl.NumberFormat costs more than the rest of a wallet read: once per currency.
  let exponent = exponents.get(code);
  if (exponent === undefined) {
    exponent =
      new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
        .maximumFractionDigits ?? 2;
    exponents.set(code, exponent);
  }
  return exponent;
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

/** Formats a bigint amount for JSON (strings keep all 64 bits). */
export function formatAmount(n: bigint): string {
  return n.toString();
}
