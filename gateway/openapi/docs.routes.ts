import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { GatewayEnv } from '../http/request-context.js';

/** The generated document's header: what clients read first. */
const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'Velora API',
    version: '1.0.0',
    description:
      'Public API of the Velora wallet. Amounts are integer minor units as strings of digits; errors are RFC 9457 problem+json with a stable `code`.',
  },
  servers: [{ url: '/' }],
} as const;

/** The OpenAPI 3.1 document of `api`, exactly as `GET /openapi.json` serves it. */
function openApiDocument(api: OpenAPIHono<GatewayEnv>): unknown {
  return api.getOpenAPI31Document({ ...OPENAPI_INFO, servers: [...OPENAPI_INFO.servers] });
}

/** Where the viewer's assets are served from; /docs references nothing else. */
const DOCS_ASSETS_PATH = '/docs/assets';

/**
 * The reference viewer (Swagger UI) comes from the pinned `swagger-ui-dist` package and is
 * served by the gateway itself: no CDN can change or withhold the page operators and client
 * developers read, and the page works without internet access.
 */
const VIEWER_FILES: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
};

/**
 * Starts the viewer on our own document. `validatorUrl: null` stops Swagger UI from sending the
 * document to its public validator; a file rather than an inline script, so a strict
 * Content-Security-Policy (`script-src 'self'`) can front the page.
 */
const VIEWER_INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#api-reference',
    deepLinking: true,
    validatorUrl: null,
  });
});
`;

const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Velora API reference</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css" />
  </head>
  <body>
    <noscript>The reference needs JavaScript; the document itself is <a href="/openapi.json">/openapi.json</a>.</noscript>
    <div id="api-reference"></div>
    <script src="${DOCS_ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_ASSETS_PATH}/init.js"></script>
  </body>
</html>`;

const viewerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const loaded = new Map<string, Buffer>();

/** A viewer file from node_modules, read once on first request (most gateways never serve /docs). */
function viewerFile(file: string): Buffer {
  let content = loaded.get(file);
  if (!content) {
    content = readFileSync(join(viewerDir, file));
    loaded.set(file, content);
  }
  return content;
}

/**
 * `/openapi.json` (generated from the same zod schemas that validate requests) and `/docs`,
 * an interactive reference page that reads it, with its assets under {@link DOCS_ASSETS_PATH}.
 */
export function createDocsRoutes(api: OpenAPIHono<GatewayEnv>) {
  const app = new Hono<GatewayEnv>();
  let document: unknown;
  app.get('/openapi.json', (c) => {
    document ??= openApiDocument(api);
    return c.json(document);
  });
  app.get('/docs', (c) => c.html(DOCS_PAGE));
  app.get(`${DOCS_ASSETS_PATH}/:file`, (c) => {
    const name = c.req.param('file');
    if (name === 'init.js') {
      return c.body(VIEWER_INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' });
    }
    const asset = VIEWER_FILES[name];
    if (!asset) return c.notFound();
    return c.body(new Uint8Array(viewerFile(asset.file)), 200, {
      'content-type': asset.type,
      'cache-control': 'public, max-age=86400',
    });
  });
  return app;
}
