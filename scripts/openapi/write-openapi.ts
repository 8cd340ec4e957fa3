/**
 * Writes docs/openapi.json: the OpenAPI document the gateway serves at `GET /openapi.json`,
 * committed so a reader of the repository (or a client generator) has the contract without
 * running anything. `gateway/openapi/docs.routes.test.ts` fails when the two differ.
 *
 *   node --import tsx scripts/openapi/write-openapi.ts
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import * as prettier from 'prettier';
import { createGatewayApp } from '../../gateway/app.js';
import { loadGatewayConfig } from '../../gateway/config.js';
import { createUpstream } from '../../gateway/http/upstream.js';
import { createLogger } from '../../lib/logger.js';

export const OPENAPI_FILE = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));
export const REGENERATE_COMMAND = 'node --import tsx scripts/openapi/write-openapi.ts';

/**
 * The document of a gateway built with inert dependencies: nothing is connected and no route
 * handler runs; only `/openapi.json` is asked, which reads the routes' zod schemas.
 */
export async function generateOpenApiDocument(): Promise<unknown> {
  const config = loadGatewayConfig({
    GATEWAY_CLIENT_SECRET: 'openapi-generator-secret',
    WORKFLOW_INPUT_KEY: randomBytes(32).toString('base64'),
  });
  const unreachable = { timeoutMs: 1, breakAfter: 1, halfOpenAfterMs: 1 };
  const { app } = createGatewayApp({
    config,
    log: createLogger('openapi', 'silent'),
    verifyToken: () => Promise.reject(new Error('no token is verified while writing the document')),
    isRevoked: () => Promise.resolve(false),
    // Read by route handlers only, none of which runs here.
    temporal: undefined as unknown as Client,
    auth: createUpstream({ name: 'auth', baseUrl: 'http://127.0.0.1:9', ...unreachable }),
    wallet: createUpstream({ name: 'wallet', baseUrl: 'http://127.0.0.1:9', ...unreachable }),
    serviceToken: () => Promise.reject(new Error('no service token while writing the document')),
    rateLimiter: {
      consume: () => Promise.resolve({ allowed: true, limit: 1, remaining: 1, resetSeconds: 60 }),
    },
  });
  const res = await app.request('/openapi.json');
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  return res.json();
}

/** The document as committed: formatted like every other file of the repository. */
export async function formatOpenApiDocument(document: unknown): Promise<string> {
  const options = (await prettier.resolveConfig(OPENAPI_FILE)) ?? {};
  return prettier.format(JSON.stringify(document), { ...options, parser: 'json' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_FILE, await formatOpenApiDocument(await generateOpenApiDocument()));
  console.log(`wrote ${OPENAPI_FILE}`);
}
