import { Hono } from 'hono';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { GatewayEnv } from '../platform/request-context.js';

/** The generated document's header: what clients read first. */
export const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'Velora API',
    version: '1.0.0',
    description:
      'Public API of the Velora wallet. Amounts are integer minor units as strings of digits; errors are RFC 9457 problem+json with a stable `code`.',
  },
  servers: [{ url: '/' }],
} as const;

/**
 * `/openapi.json` (generated from the same zod schemas that validate requests) and `/docs`,
 * an interactive reference page (Scalar) that reads it.
 */
export function createDocsRoutes(api: OpenAPIHono<GatewayEnv>) {
  const app = new Hono<GatewayEnv>();
  let document: unknown;
  app.get('/openapi.json', (c) => {
    document ??= api.getOpenAPI31Document({ ...OPENAPI_INFO, servers: [...OPENAPI_INFO.servers] });
    return c.json(document);
  });
  app.get('/docs', (c) =>
    c.html(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Velora API reference</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
  </body>
</html>`),
  );
  return app;
}
