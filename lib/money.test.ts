import { describe, expect, it } from 'vitest';
import { ISO_4217_MINOR_UNITS } from './iso-4217.js';
import { MAX_AMOUNT, amountSchema, currencyExponent, currencySchema, isCurrency } from './money.js';

describe('amountSchema', () => {
  it('accepts positive integers written as strings of digits, as bigint', () => {
    expect(amountSchema.parse('1050')).toBe(1050n);
    expect(amountSchema.parse(MAX_AMOUNT.toString())).toBe(MAX_AMOUNT);
  });

  it.each([
    ['zero', '0'],
    ['negative', '-1'],
    ['fractional', '1.5'],
    ['exponent', '1e3'],
    ['leading zero', '0100'],
    ['beyond bigint', '9223372036854775808'],
    ['twenty digits', '99999999999999999999'],
    ['empty', ''],
    ['spaces', ' 10'],
  ])('rejects %s (%j)', (_name, input) => {
    expect(amountSchema.safeParse(input).success).toBe(false);
  });

  it('rejects JSON numbers', () => {
    expect(amountSchema.safeParse(1050).success).toBe(false);
  });
});

describe('currencies', () => {
  it('knows ISO 4217 codes and their minor units', () => {
    expect(currencySchema.parse('USD')).toBe('USD');
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
  });

  it('rejects unknown and malformed codes', () => {
    for (const code of ['XYZ', 'usd', 'US', 'USDD'])
      expect(currencySchema.safeParse(code).success).toBe(false);
  });

  // Issue 11, item 10: Intl (CLDR) gives HUF 0, IDR 0, COP 0, IQD 0; ISO 4217 says 2, 2, 2, 3.
  it.each([
    ['HUF', 2],
    ['IDR', 2],
    ['COP', 2],
    ['IQD', 3],
    ['CLP', 0],
    ['JPY', 0],
    ['ISK', 0],
    ['KRW', 0],
    ['VND', 0],
    ['XAF', 0],
    ['XOF', 0],
    ['XPF', 0],
    ['UGX', 0],
    ['VUV', 0],
    ['RWF', 0],
    ['PYG', 0],
    ['KMF', 0],
    ['GNF', 0],
    ['DJF', 0],
    ['BIF', 0],
    ['KWD', 3],
    ['BHD', 3],
    ['TND', 3],
    ['JOD', 3],
    ['OMR', 3],
    ['LYD', 3],
    ['UYW', 4],
    ['CLF', 4],
    ['USD', 2],
    ['EUR', 2],
    ['GBP', 2],
    ['CHE', 2],
    ['UYI', 0],
  ] as const)('%s has %i minor-unit digits (ISO 4217)', (code, digits) => {
    expect(currencyExponent(code)).toBe(digits);
    expect(currencySchema.parse(code)).toBe(code);
  });

  it('holds a plausible ISO 4217 list one: unique 3-letter codes, minor units 0, 2, 3 or 4', () => {
    const codes = Object.keys(ISO_4217_MINOR_UNITS);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.length).toBeGreaterThanOrEqual(160);
    expect(codes.length).toBeLessThanOrEqual(185);
    for (const code of codes) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3, 4]).toContain(ISO_4217_MINOR_UNITS[code]);
    }
  });

  it.each(['XYZ', 'HRK', 'ZWL', 'XAU', 'XXX', 'XTS', 'ABC'])(
    'refuses %s, which has no ISO 4217 minor unit today, with the validation error',
    (code) => {
      expect(isCurrency(code)).toBe(false);
      const parsed = currencySchema.safeParse(code);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.message).toBe('unknown currency');
      expect(() => currencyExponent(code)).toThrow(RangeError);
    },
  );

  it('does not take inherited object keys for currencies', () => {
    for (const code of ['constructor', 'toString', '__proto__']) expect(isCurrency(code)).toBe(false);
  });
});
