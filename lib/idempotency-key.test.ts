import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { isIdempotencyKey, optionalIdempotencyKey, requireIdempotencyKey } from './idempotency-key.js';
import { createLogger } from './logger.js';
import { createErrorHandler } from './problem.js';

const app = new Hono();
app.onError(createErrorHandler(createLogger('idempotency-key-test', 'silent')));
app.post('/required', (c) => c.json({ key: requireIdempotencyKey(c) }));
app.post('/optional', (c) => c.json({ key: optionalIdempotencyKey(c) ?? null }));

function send(path: string, key?: string) {
  return app.request(path, { method: 'POST', headers: key === undefined ? {} : { 'idempotency-key': key } });
}

const longest = 'k'.repeat(255);
const malformed = ['k'.repeat(256), 'two words', 'tab\there', 'caf\u00e9', 'nul\u0001'];

describe('isIdempotencyKey', () => {
  it('accepts 1 to 255 visible ASCII characters and nothing else', () => {
    for (const key of ['a', '~!"#$%&()*+,-./:;<=>?@[\\]^_`{|}', longest, 'transfer:9f2c'])
      expect(isIdempotencyKey(key), key).toBe(true);
    for (const key of ['', ...malformed]) expect(isIdempotencyKey(key), key).toBe(false);
  });
});

describe('requireIdempotencyKey', () => {
  it('answers the key as sent', async () => {
    const res = await send('/required', longest);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ key: longest });
  });

  it('refuses a missing or blank key with 400 idempotency_key_required', async () => {
    for (const key of [undefined, '']) {
      const res = await send('/required', key);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({
        code: 'idempotency_key_required',
        detail: 'the Idempotency-Key header is required for this request',
      });
    }
  });

  it('refuses a malformed key with 400 invalid_idempotency_key', async () => {
    // Every malformed key a Headers object can carry (it refuses control characters itself).
    for (const key of malformed.filter((k) => !k.includes('\u0001'))) {
      const res = await send('/required', key);
      expect(res.status, key).toBe(400);
      expect(await res.json()).toMatchObject({
        code: 'invalid_idempotency_key',
        detail: 'Idempotency-Key must be 1-255 visible ASCII characters',
      });
    }
  });
});

describe('optionalIdempotencyKey', () => {
  it('answers the key, none without one, and still refuses a malformed one', async () => {
    expect(await (await send('/optional', 'key-1')).json()).toEqual({ key: 'key-1' });
    expect(await (await send('/optional')).json()).toEqual({ key: null });
    expect(await (await send('/optional', '')).json()).toEqual({ key: null });
    const res = await send('/optional', 'two words');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('invalid_idempotency_key');
  });
});
