import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { decodeJwt } from 'jose';
import { currencyExponent } from '../../lib/money.js';
import type { Wallet } from '../../wallet/wallet-api.js';

export const SERVICE_TOKEN = 'gateway-service-token';

/**
 * In-memory stand-ins for WalletService and AuthService that speak their internal contract
 * (docs/internal-api.md). The real services are exercised by the lead's e2e suite; here they
 * let route tests control every answer, including outages.
 */
export function createFakeWallet(
  options: {
    /**
     * A wallet's live balance where money moves elsewhere (the workflows' fake activities);
     * `undefined` keeps the balance the wallet was made with.
     */
    balance?: (walletId: string) => Wallet['balance'] | undefined;
  } = {},
) {
  const wallets = new Map<string, Wallet>();
  /** A wallet as WalletService answers it now. */
  const current = (w: Wallet): Wallet => ({ ...w, balance: options.balance?.(w.id) ?? w.balance });
  const seen: { path: string; headers: Record<string, string> }[] = [];
  const app = new Hono();
  app.use('*', async (c, next) => {
    seen.push({ path: c.req.path, headers: Object.fromEntries(c.req.raw.headers) });
    if (c.req.header('authorization') !== `Bearer ${SERVICE_TOKEN}`) {
      return c.json(
        { type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'no token', code: 'unauthorized' },
        401,
      );
    }
    await next();
  });
  const missing = {
    type: 'about:blank',
    title: 'Not Found',
    status: 404,
    detail: 'no such wallet',
    code: 'wallet_not_found',
  };
  app.get('/internal/wallets', (c) => {
    const ids = c.req.query('ids');
    if (ids !== undefined)
      return c.json({
        items: ids
          .split(',')
          .flatMap((id) => wallets.get(id) ?? [])
          .map(current),
      });
    const userId = c.req.query('user_id');
    return c.json({ items: [...wallets.values()].filter((w) => w.user_id === userId).map(current) });
  });
  app.get('/internal/wallets/:id', (c) => {
    const w = wallets.get(c.req.param('id'));
    return w ? c.json(current(w)) : c.json(missing, 404);
  });
  app.get('/internal/wallets/:id/transactions', (c) => {
    const w = wallets.get(c.req.param('id'));
    if (!w) return c.json(missing, 404);
    return c.json({
      items: [
        {
          id: randomUUID(),
          transaction_id: randomUUID(),
          wallet_id: w.id,
          amount: '500',
          direction: 'credit',
          kind: 'deposit',
          balance_after: '500',
          created_at: new Date().toISOString(),
        },
      ],
      next_cursor: null,
    });
  });
  app.post('/internal/wallets', async (c) => {
    const body: { user_id: string; currency: string } = await c.req.json();
    const existing = [...wallets.values()].find(
      (w) => w.user_id === body.user_id && w.currency === body.currency,
    );
    if (existing) return c.json(existing, 200);
    return c.json(addWallet(body.user_id, body.currency), 201);
  });
  // The archive of closed transfers (wallet/transfer-records): empty, nothing archived yet, so
  // every transfer is read and listed from Temporal as before.
  app.get('/internal/transfer-records', (c) =>
    c.json({ items: [], archived_through: new Date(0).toISOString() }),
  );
  app.get('/internal/transfer-records/:id', (c) =>
    c.json({ ...missing, detail: 'no record of this transfer', code: 'transfer_record_not_found' }, 404),
  );
  app.get('/boom', () => {
    throw new Error('internal detail at db-primary.internal:5432');
  });

  function addWallet(userId: string, currency = 'USD'): Wallet {
    const wallet: Wallet = {
      id: randomUUID(),
      user_id: userId,
      currency,
      status: 'active',
      balance: { posted: '0', pending: '0', available: '0' },
      overdraft_limit: '0',
      exponent: currencyExponent(currency),
      created_at: new Date().toISOString(),
    };
    wallets.set(wallet.id, wallet);
    return wallet;
  }
  return { app, wallets, addWallet, seen };
}

/** AuthService stand-in: login, logout (writes the real Redis denylist), registrations, JWKS. */
export function createFakeAuth(options: {
  jwks: unknown;
  denylist: (jti: string, ttl: number) => Promise<void>;
}) {
  const seen: { path: string; headers: Record<string, string>; body: string }[] = [];
  const app = new Hono();
  app.use('*', async (c, next) => {
    seen.push({
      path: c.req.path,
      headers: Object.fromEntries(c.req.raw.headers),
      body: await c.req.raw.clone().text(),
    });
    await next();
  });
  app.get('/.well-known/jwks.json', (c) => c.json(options.jwks));
  app.get('/.well-known/openid-configuration', (c) =>
    c.json({ issuer: 'http://issuer.test', jwks_uri: 'http://issuer.test/.well-known/jwks.json' }),
  );
  app.post('/v1/auth/login', async (c) => {
    const body: { email: string; password: string } = await c.req.json();
    if (body.password === 'crash') {
      return new Response('Error: boom\n    at login (/srv/auth/index.js:42) host auth-db-1.internal', {
        status: 500,
      });
    }
    if (body.password !== 'correct horse battery staple') {
      return c.json(
        {
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          detail: 'bad credentials',
          code: 'invalid_credentials',
        },
        401,
      );
    }
    return c.json({ access_token: 'at', refresh_token: 'rt', token_type: 'Bearer', expires_in: 900 }, 200, {
      'cache-control': 'no-store',
      server: 'auth-internal-01',
    });
  });
  app.post('/v1/auth/token', async (c) => {
    const form = await c.req.parseBody();
    // A service client with a valid secret gets a token, as from the real AuthService.
    if (form.grant_type === 'client_credentials')
      return c.json({ access_token: 'service-at', token_type: 'Bearer', expires_in: 900 }, 200);
    if (form.grant_type !== 'refresh_token') return c.json({ error: 'unsupported_grant_type' }, 400);
    return c.json({ access_token: 'at2', token_type: 'Bearer', expires_in: 900 }, 200, {
      'cache-control': 'no-store',
    });
  });
  app.post('/v1/auth/logout', async (c) => {
    const token = (c.req.header('authorization') ?? '').replace(/^Bearer /, '');
    const claims = decodeJwt(token);
    await options.denylist(String(claims.jti), 300);
    return c.body(null, 204);
  });
  app.get('/v1/auth/me', (c) => {
    const claims = decodeJwt((c.req.header('authorization') ?? '').replace(/^Bearer /, ''));
    return c.json({ user_id: claims.sub, email: 'ada@example.com', roles: [], mfa_enabled: false });
  });
  app.get('/v1/auth/authorize', (c) =>
    c.html(
      `<form method="post" action="authorize"><input name="request_id" value="r-${c.req.query('client_id') ?? ''}"></form>`,
      200,
      {
        'content-security-policy': "default-src 'none'",
      },
    ),
  );
  app.post('/v1/auth/authorize', async (c) => {
    const form = await c.req.parseBody();
    return c.redirect(
      `https://client.example/cb?code=abc&state=${typeof form.request_id === 'string' ? form.request_id : ''}`,
      302,
    );
  });
  app.post('/v1/auth/introspect', (c) => c.json({ active: true, sub: 'someone', scope: 'wallet:read' }));
  app.post('/v1/auth/revoke', (c) => c.body(null, 200, { 'cache-control': 'no-store' }));
  app.post('/internal/registrations', async (c) => {
    if (c.req.header('authorization') !== `Bearer ${SERVICE_TOKEN}`)
      return c.json({ code: 'unauthorized', status: 401 }, 401);
    const body: { password: string } = await c.req.json();
    if (body.password.length < 12) {
      return c.json(
        {
          type: 'about:blank',
          title: 'Unprocessable Content',
          status: 422,
          detail: 'too short',
          code: 'weak_password',
        },
        422,
      );
    }
    return c.json(
      { registration_id: randomUUID(), expires_at: new Date(Date.now() + 900_000).toISOString() },
      201,
    );
  });
  return { app, seen };
}
