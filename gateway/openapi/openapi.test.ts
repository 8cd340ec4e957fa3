import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../testing/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h?.close());

/** `/v1/wallets/:wallet_id` → `/v1/wallets/{wallet_id}` */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, '{$1}');

/** The routes of API.md: the document must describe every one of them. */
const CONTRACT = [
  'POST /v1/auth/register',
  'POST /v1/auth/login',
  'POST /v1/auth/otp/verify',
  'POST /v1/auth/token',
  'POST /v1/auth/logout',
  'GET /v1/auth/me',
  'GET /v1/wallets',
  'POST /v1/wallets',
  'GET /v1/wallets/{wallet_id}',
  'GET /v1/wallets/{wallet_id}/transactions',
  'POST /v1/admin/wallets/{wallet_id}/deposits',
  'POST /v1/transfers',
  'GET /v1/transfers/{transfer_id}',
  'GET /v1/transfers',
  'POST /v1/transfers/{transfer_id}/confirm',
  'POST /v1/transfers/{transfer_id}/cancel',
  'GET /.well-known/openid-configuration',
  'GET /.well-known/jwks.json',
];

describe('/openapi.json', () => {
  it('is an OpenAPI 3.1 document that lists exactly the routes the app serves', async () => {
    const res = await h.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    const served = new Set(
      h.app.routes
        .filter(
          (r) => r.method !== 'ALL' && (r.path.startsWith('/v1/') || r.path.startsWith('/.well-known/')),
        )
        .map((r) => `${r.method} ${toOpenApiPath(r.path)}`),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    for (const route of CONTRACT) expect(documented, route).toContain(route);
  });

  it('describes the contract field names and the problem format', async () => {
    const doc = await (await h.request('/openapi.json')).json();
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.Transfer.properties)).toEqual(
      expect.arrayContaining([
        'id',
        'status',
        'from_wallet_id',
        'to_wallet_id',
        'amount',
        'currency',
        'description',
        'steps',
        'failure_code',
        'created_at',
        'completed_at',
      ]),
    );
    expect(Object.keys(schemas.Wallet.properties)).toEqual([
      'id',
      'user_id',
      'currency',
      'status',
      'balance',
      'created_at',
    ]);
    expect(schemas.CreateTransferRequest.additionalProperties).toBe(false);
    expect(schemas.CreateTransferRequest.properties.amount.type).toBe('string');
    expect(Object.keys(schemas.Problem.properties)).toEqual(['type', 'title', 'status', 'detail', 'code']);
    expect(doc.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
  });

  it('documents the money refusals: amount_too_large, duplicate_reference, step error codes', async () => {
    const doc = await (await h.request('/openapi.json')).json();
    const create = doc.paths['/v1/transfers'].post.responses;
    expect(create['422'].description).toContain('amount_too_large');
    expect(create['422'].description).toContain('idempotency_key_mismatch');
    const deposit = doc.paths['/v1/admin/wallets/{wallet_id}/deposits'].post.responses;
    expect(deposit['409'].description).toContain('duplicate_reference');
    expect(deposit['422'].description).toContain('amount_too_large');
    expect(doc.components.schemas.CreateTransferRequest.properties.amount.description).toContain(
      '9007199254740991',
    );
    const step = doc.components.schemas.Transfer.properties.steps.items;
    expect(step.properties.error_code.enum).toEqual(
      expect.arrayContaining(['wallet_frozen', 'currency_mismatch', 'internal_error']),
    );
  });

  it('serves an interactive reference page at /docs', async () => {
    const res = await h.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('/openapi.json');
  });
});
