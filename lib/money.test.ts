import { describe, expect, it } from 'vitest';
import { MAX_AMOUNT, amountSchema, currencyExponent, currencySchema } from './money.js';

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
});
