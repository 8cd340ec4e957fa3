import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depositWorkflowId } from '../../workflows/deposit-contract.js';
import { deriveId } from '../temporal/idempotency.js';
import { createHarness, type Harness, type TestResponse } from '../testing/harness.js';
import { ACCESS_RULES, compileAccessRules, routesWithoutRule } from './route-access.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ temporal: true });
});
afterAll(async () => h?.close());

/** `/v1/wallets/{wallet_id}` → `/v1/wallets/:wallet_id` */
const fromOpenApiPath = (path: string) => path.replace(/\{([A-Za-z_]+)\}/g, ':$1');

async function expectInsufficientScope(res: TestResponse, scope: string) {
  expect(res.status).toBe(403);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.headers.get('www-authenticate')).toBe(`Bearer error="insufficient_scope", scope="${scope}"`);
  expect((await res.json()).code).toBe('insufficient_scope');
}

/** True when no upstream call carried this request id (the request was refused at the door). */
const reachedUpstream = (requestId: string) =>
  [...h.wallet.seen, ...h.auth.seen].some((s) => s.headers['x-request-id'] === requestId);

describe('every route has an access rule', () => {
  it('covers each route the app serves and each operation of the OpenAPI document', async () => {
    expect(routesWithoutRule(h.app.routes)).toEqual([]);
    const doc = await (await h.request('/openapi.json')).json();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) =>
        Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path: fromOpenApiPath(path) })),
    );
    expect(documented.length).toBeGreaterThan(10);
    expect(routesWithoutRule(documented)).toEqual([]);
  });

  it('names a route that has no rule (so a new unprotected route fails the build)', () => {
    expect(routesWithoutRule([{ method: 'POST', path: '/v1/payouts/:id/approve' }])).toEqual([
      'POST /v1/payouts/:id/approve',
    ]);
    // Without the transfer rules, the transfer routes are reported.
    const withoutTransfers = ACCESS_RULES.filter((r) => !r.path.startsWith('/v1/transfers'));
    expect(routesWithoutRule(h.app.routes, withoutTransfers)).toEqual(
      expect.arrayContaining(['POST /v1/transfers', 'GET /v1/transfers/:transfer_id']),
    );
  });
});

describe('finding the rule of a request', () => {
  const ruleFor = compileAccessRules(ACCESS_RULES);

  it('takes the first matching rule, as listed', () => {
    // The deposit rule comes before the catch-all of /v1/admin/* and lets service clients in.
    expect(ruleFor('POST', '/v1/admin/wallets/w1/deposits')?.access).toEqual({
      kind: 'scope',
      scope: 'admin',
      serviceScopes: ['wallet:admin', 'wallet:write'],
    });
    expect(ruleFor('POST', '/v1/admin/wallets/w1/freeze')?.access).toEqual({ kind: 'scope', scope: 'admin' });
    expect(ruleFor('GET', '/v1/wallets/w1/transactions')?.path).toBe('/v1/wallets/:wallet_id/transactions');
  });

  it('treats HEAD as GET and one trailing slash as the same path', () => {
    expect(ruleFor('HEAD', '/v1/wallets/w1')?.path).toBe('/v1/wallets/:wallet_id');
    expect(ruleFor('GET', '/v1/wallets/w1/')?.path).toBe('/v1/wallets/:wallet_id');
  });

  it('matches a parameter to one non-empty segment only, and the method exactly', () => {
    expect(ruleFor('GET', '/v1/wallets//transactions')).toBeUndefined();
    expect(ruleFor('GET', '/v1/wallets/w1/transactions/extra')).toBeUndefined();
    expect(ruleFor('PUT', '/v1/wallets/w1')).toBeUndefined();
    expect(ruleFor('GET', '/V1/wallets/w1')).toBeUndefined();
  });
});

describe('scopes (attack: a token granted for one purpose used for another)', () => {
  it('an openid-only token (third-party app) can neither move money nor read wallets', async () => {
    const owner = await h.user();
    const walletId = h.wallet.addWallet(owner.id).id;
    const payee = h.wallet.addWallet(randomUUID()).id;
    const thirdParty = await h.user({ scope: 'openid', clientId: 'third-party-app' });
    // The same user, through an app that asked only for `openid`.
    const sameUser = await h.issuer.mint({ sub: owner.id, scope: 'openid', client_id: 'third-party-app' });
    const key = randomUUID();
    const requestId = `scope-attack-${randomUUID()}`;
    const transfer = await h.request('/v1/transfers', {
      method: 'POST',
      headers: { authorization: `Bearer ${sameUser}`, 'idempotency-key': key, 'x-request-id': requestId },
      json: { from_wallet_id: walletId, to_wallet_id: payee, amount: '1000', currency: 'USD' },
    });
    await expectInsufficientScope(transfer, 'transfers:write');
    // Nothing happened: no wallet lookup, no workflow.
    expect(reachedUpstream(requestId)).toBe(false);
    const id = deriveId('transfer', owner.id, key);
    await expect(h.temporal.workflow.getHandle(`transfer-${id}`).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );

    for (const path of [`/v1/wallets/${walletId}`, '/v1/wallets', `/v1/wallets/${walletId}/transactions`]) {
      await expectInsufficientScope(
        await h.request(path, { headers: { authorization: `Bearer ${sameUser}` } }),
        'wallet:read',
      );
    }
    await expectInsufficientScope(
      await h.request('/v1/transfers', { headers: thirdParty.auth }),
      'wallet:read',
    );
  });

  it('a read-only token cannot create, confirm or cancel transfers, nor open wallets', async () => {
    const reader = await h.user({ scope: 'openid wallet:read', clientId: 'budget-app' });
    const walletId = h.wallet.addWallet(reader.id).id;
    expect((await h.request(`/v1/wallets/${walletId}`, { headers: reader.auth })).status).toBe(200);
    const create = await h.request('/v1/transfers', {
      method: 'POST',
      headers: { ...reader.auth, 'idempotency-key': randomUUID() },
      json: { from_wallet_id: walletId, to_wallet_id: randomUUID(), amount: '1000', currency: 'USD' },
    });
    await expectInsufficientScope(create, 'transfers:write');
    const id = randomUUID();
    await expectInsufficientScope(
      await h.request(`/v1/transfers/${id}/confirm`, {
        method: 'POST',
        headers: reader.auth,
        json: { code: '123456' },
      }),
      'transfers:write',
    );
    await expectInsufficientScope(
      await h.request(`/v1/transfers/${id}/cancel`, { method: 'POST', headers: reader.auth }),
      'transfers:write',
    );
    await expectInsufficientScope(
      await h.request('/v1/wallets', { method: 'POST', headers: reader.auth, json: { currency: 'EUR' } }),
      'transfers:write',
    );
  });

  it("an admin user's third-party token without `admin` cannot mint money nor read others' wallets", async () => {
    const admin = await h.user({
      roles: ['admin'],
      scope: 'openid wallet:read transfers:write',
      clientId: 'third-party-app',
    });
    const victim = h.wallet.addWallet(randomUUID()).id;
    const requestId = `deposit-attack-${randomUUID()}`;
    const reference = `ref-${randomUUID()}`;
    const deposit = await h.request(`/v1/admin/wallets/${victim}/deposits`, {
      method: 'POST',
      headers: { ...admin.auth, 'idempotency-key': randomUUID(), 'x-request-id': requestId },
      json: { amount: '100000000', currency: 'USD', reference },
    });
    await expectInsufficientScope(deposit, 'admin');
    expect(reachedUpstream(requestId)).toBe(false);
    await expect(
      h.temporal.workflow.getHandle(depositWorkflowId(victim, reference)).describe(),
    ).rejects.toBeInstanceOf(WorkflowNotFoundError);
    // The admin role alone no longer lets the token read another user's wallet.
    const read = await h.request(`/v1/wallets/${victim}`, { headers: admin.auth });
    expect(read.status).toBe(404);
    expect((await read.json()).code).toBe('wallet_not_found');

    // The same admin through the first-party app (scope `admin`) may.
    const firstParty = await h.user({ roles: ['admin'] });
    expect((await h.request(`/v1/wallets/${victim}`, { headers: firstParty.auth })).status).toBe(200);
  });

  it('a token with the `admin` scope but without the admin role is still refused by the role check', async () => {
    const forged = await h.user({ scope: 'openid wallet:read transfers:write admin' });
    const res = await h.request(`/v1/admin/wallets/${randomUUID()}/deposits`, {
      method: 'POST',
      headers: { ...forged.auth, 'idempotency-key': randomUUID() },
      json: { amount: '100', currency: 'USD', reference: `ref-${randomUUID()}` },
    });
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe('forbidden');
  });

  it('authentication still comes first: no token is 401, not 403', async () => {
    const res = await h.request('/v1/transfers', { method: 'POST', json: {} });
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('unauthorized');
  });
});
