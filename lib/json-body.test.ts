import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hasJsonBody, parseJsonBody, parseQuery } from './json-body.js';
import { createLogger } from './logger.js';
import { createErrorHandler } from './problem.js';

const app = new Hono();
app.onError(createErrorHandler(createLogger('json-body-test', 'silent')));
const body = z.strictObject({ amount: z.number().int().positive(), note: z.string().optional() });
app.post('/parse', async (c) => c.json(await parseJsonBody(c, body)));
app.get('/query', (c) => c.json(parseQuery(c, z.strictObject({ limit: z.coerce.number().int().max(50) }))));
app.post('/has-json', (c) => c.json({ json: hasJsonBody(c) }));

function post(text: string | undefined, contentType?: string) {
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
  return app.request('/parse', { method: 'POST', headers, body: text });
}

describe('parseJsonBody', () => {
  it('answers the validated body of an application/json request, parameters and case aside', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/JSON']) {
      const res = await post('{"amount":5,"note":"rent"}', type);
      expect(res.status, type).toBe(200);
      expect(await res.json()).toEqual({ amount: 5, note: 'rent' });
    }
  });

  it('refuses any other media type, or none, with 415 unsupported_media_type before reading', async () => {
    for (const [text, type] of [
      ['amount=5', 'application/x-www-form-urlencoded'],
      ['{"amount":5}', 'text/plain'],
      ['{"amount":5}', undefined],
      [undefined, undefined],
    ] as const) {
      const res = await post(text, type);
      expect(res.status, String(type)).toBe(415);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({
        status: 415,
        code: 'unsupported_media_type',
        title: 'Unsupported Media Type',
        detail: 'send the body as application/json (or the documented form type)',
      });
    }
  });

  it('answers unparsable JSON with 400 malformed_json, the body the error handler gives a SyntaxError', async () => {
    for (const text of ['{"amount":', '', 'not json']) {
      const res = await post(text, 'application/json');
      expect(res.status, text).toBe(400);
      expect(await res.json()).toMatchObject({
        code: 'malformed_json',
        detail: 'request body is not valid JSON',
      });
    }
    const thrown = new Hono();
    thrown.onError(createErrorHandler(createLogger('json-body-test', 'silent')));
    thrown.post('/', async (c) => c.json(JSON.parse(await c.req.text())));
    const fromHandler = await thrown.request('/', { method: 'POST', body: '{' });
    expect(await fromHandler.json()).toEqual(await (await post('{', 'application/json')).json());
  });

  it('refuses a body the schema refuses with 400 validation_failed naming the field, not the value', async () => {
    const res = await post('{"amount":-7,"role":"admin"}', 'application/json');
    expect(res.status).toBe(400);
    const p = (await res.json()) as { code: string; errors: { path: string }[] };
    expect(p.code).toBe('validation_failed');
    expect(p.errors.map((e) => e.path).sort()).toEqual(['body', 'body.amount']);
    expect(JSON.stringify(p)).not.toContain('-7');
  });
});

describe('parseQuery', () => {
  it('answers the validated query, or 400 validation_failed naming the query field', async () => {
    expect(await (await app.request('/query?limit=20')).json()).toEqual({ limit: 20 });
    const res = await app.request('/query?limit=500');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'query.limit' }] });
  });
});

describe('hasJsonBody', () => {
  it('is true only for an application/json content type', async () => {
    const ask = async (type?: string) =>
      (
        (await (
          await app.request('/has-json', {
            method: 'POST',
            headers: type ? { 'content-type': type } : {},
            body: '{}',
          })
        ).json()) as { json: boolean }
      ).json;
    expect(await ask('application/json')).toBe(true);
    expect(await ask('application/json;charset=UTF-8')).toBe(true);
    expect(await ask('text/plain')).toBe(false);
    expect(await ask()).toBe(false);
  });
});
