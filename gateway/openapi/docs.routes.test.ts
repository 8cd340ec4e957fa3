import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_FILE, REGENERATE_COMMAND } from '../../scripts/openapi/write-openapi.js';
import { createHarness, type Harness } from '../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h?.close());

/** Every `src` and `href` of an HTML page. */
const referencesOf = (html: string) =>
  [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1]!);

describe('docs/openapi.json', () => {
  it('is the document the gateway serves at /openapi.json', async () => {
    const served = await (await h.request('/openapi.json')).json();
    const committed = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
    expect(
      committed,
      `docs/openapi.json is out of date with the gateway's routes; regenerate it: ${REGENERATE_COMMAND}`,
    ).toEqual(served);
  });
});

describe('/docs', () => {
  it('loads the viewer from the gateway itself, never from another host', async () => {
    const res = await h.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    const references = referencesOf(html);
    expect(references.length).toBeGreaterThanOrEqual(3);
    for (const reference of references) expect(reference, reference).toMatch(/^\/(?!\/)/);
    expect(html).not.toMatch(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
  });

  it('serves every asset the page references, the viewer started on /openapi.json', async () => {
    const html = await (await h.request('/docs')).text();
    for (const reference of referencesOf(html)) {
      const res = await h.request(reference);
      expect(res.status, reference).toBe(200);
      expect(res.headers.get('content-type'), reference).toMatch(
        /^(text\/css|text\/javascript|application\/json)/,
      );
      expect((await res.arrayBuffer()).byteLength, reference).toBeGreaterThan(0);
    }
    const init = await (await h.request('/docs/assets/init.js')).text();
    expect(init).toContain("url: '/openapi.json'");
    expect(init).toContain('validatorUrl: null');
    expect(await (await h.request('/docs/assets/swagger-ui-bundle.js')).text()).toContain('SwaggerUIBundle');
  });

  it('serves nothing else from the viewer package', async () => {
    for (const path of [
      '/docs/assets/package.json',
      '/docs/assets/..%2Fpackage.json',
      '/docs/assets/index.html',
    ]) {
      expect((await h.request(path)).status, path).toBe(404);
    }
  });
});
