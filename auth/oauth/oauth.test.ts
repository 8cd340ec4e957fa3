import { createServer } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier } from '../../lib/jwt-verifier.js';
import { hashPassword } from '../users/password-hasher.js';
import { createHarness, ORCHESTRATOR, uniqueEmail, type Harness } from '../testing/harness.js';
import { upsertClient } from './clients.repository.js';

/**
 * Outside-in: AuthService on a real port, driven by openid-client (discovery, JWKS, client
 * credentials, authorization code + PKCE with the login page, refresh rotation and reuse,
 * revocation, introspection, userinfo).
 */

let h: Harness;
let server: ServerType;
let issuer: string;
const SPA = { id: 'test-spa', redirect: 'http://127.0.0.1:9/callback' };
const WEB = {
  id: 'test-web',
  secret: 'test-web-secret-0123456789abcdef',
  redirect: 'http://127.0.0.1:9/web/callback',
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  h = await createHarness({ overrides: { AUTH_ISSUER: issuer } });
  await upsertClient(h.db, {
    client_id: SPA.id,
    name: 'Test SPA',
    secret_hash: null,
    grant_types: ['authorization_code', 'refresh_token'],
    // Registered for every user scope, admin included: the user's roles and the first-party rule
    // still decide what a token carries.
    scopes: ['openid', 'wallet:read', 'transfers:write', 'admin'],
    redirect_uris: [SPA.redirect],
  });
  await upsertClient(h.db, {
    client_id: WEB.id,
    name: 'Test web app',
    secret_hash: await hashPassword(WEB.secret),
    grant_types: ['authorization_code', 'refresh_token'],
    scopes: ['openid', 'wallet:read', 'transfers:write'],
    redirect_uris: [WEB.redirect],
  });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: h.app.fetch, port, hostname: '127.0.0.1' }, () => resolve());
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await h.close();
});

const insecure = { execute: [oidc.allowInsecureRequests] };
const discoverPublic = () => oidc.discovery(new URL(issuer), SPA.id, undefined, oidc.None(), insecure);
const discoverService = () =>
  oidc.discovery(
    new URL(issuer),
    ORCHESTRATOR.id,
    ORCHESTRATOR.secret,
    oidc.ClientSecretBasic(ORCHESTRATOR.secret),
    insecure,
  );

/** Plays the browser: opens the authorization URL, submits the login (and OTP) forms, returns the redirect. */
async function signIn(
  authorizationUrl: URL,
  email: string,
  password: string,
  otp?: () => Promise<string>,
): Promise<URL> {
  const page = await fetch(authorizationUrl);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  const html = await page.text();
  const requestId = /name="request_id" value="([^"]+)"/.exec(html)?.[1];
  expect(requestId).toBeDefined();
  const post = (fields: Record<string, string>) =>
    fetch(`${issuer}/v1/auth/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
      redirect: 'manual',
    });
  let res = await post({ request_id: requestId!, email, password });
  if (otp) {
    expect(res.status).toBe(200);
    const challengeId = /name="challenge_id" value="([^"]+)"/.exec(await res.text())?.[1];
    res = await post({ request_id: requestId!, challenge_id: challengeId!, code: await otp() });
  }
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location')!);
}

async function authorizationCodeFlow(
  config: oidc.Configuration,
  redirectUri: string,
  user: { email: string; password: string },
  otp?: () => Promise<string>,
  scope = 'openid wallet:read transfers:write',
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  // Without openid there is no id_token to carry a nonce.
  const nonce = scope.split(' ').includes('openid') ? oidc.randomNonce() : undefined;
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...(nonce ? { nonce } : {}),
  });
  const callback = await signIn(url, user.email, user.password, otp);
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    ...(nonce ? { expectedNonce: nonce } : {}),
  });
  return { tokens, callback, verifier };
}

describe('OpenID discovery and JWKS', () => {
  it('publishes metadata openid-client accepts, with S256 only and no implicit or password grant', async () => {
    const config = await discoverPublic();
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(issuer);
    expect(meta.code_challenge_methods_supported).toEqual(['S256']);
    expect(meta.response_types_supported).toEqual(['code']);
    expect(meta.grant_types_supported).not.toContain('password');
    expect(meta.grant_types_supported).not.toContain('implicit');
    const jwks = (await (await fetch(meta.jwks_uri!)).json()) as { keys: { kty: string; d?: string }[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(jwks.keys.every((k) => k.kty === 'EC' && k.d === undefined)).toBe(true);
  });
});

describe('client credentials', () => {
  it('issues a service token that verifies against the HTTP JWKS with lib/jwt-verifier', async () => {
    const config = await discoverService();
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'auth:internal wallet:read' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.scope).toBe('auth:internal wallet:read');
    const verify = createAccessTokenVerifier({
      jwksUrl: config.serverMetadata().jwks_uri!,
      issuer,
      audience: 'velora',
    });
    const principal = await verify(tokens.access_token);
    expect(principal).toMatchObject({
      subject: `client:${ORCHESTRATOR.id}`,
      clientId: ORCHESTRATOR.id,
      isService: true,
    });
    const wrong = oidc.discovery(
      new URL(issuer),
      ORCHESTRATOR.id,
      'wrong',
      oidc.ClientSecretBasic('wrong'),
      insecure,
    );
    // 401 with a Basic challenge: openid-client surfaces it as a WWW-Authenticate challenge error.
    await expect(wrong.then((c) => oidc.clientCredentialsGrant(c))).rejects.toMatchObject({ status: 401 });
  });
});

describe('authorization code + PKCE', () => {
  it('signs a user in through the login page and redeems the code once', async () => {
    const user = await h.createUser();
    const config = await discoverPublic();
    const { tokens, callback, verifier } = await authorizationCodeFlow(config, SPA.redirect, user);
    expect(callback.searchParams.get('iss')).toBe(issuer);
    expect(tokens.refresh_token).toBeDefined();
    const claims = tokens.claims();
    expect(claims?.sub).toBe(user.id);
    // The id_token is signed by the same keys, for the client as audience — and is no access token.
    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
    const { payload } = await jwtVerify(tokens.id_token!, jwks, {
      issuer,
      audience: SPA.id,
      algorithms: ['ES256'],
    });
    expect(payload.sub).toBe(user.id);
    const asAccess = await fetch(`${issuer}/v1/auth/me`, {
      headers: { authorization: `Bearer ${tokens.id_token}` },
    });
    expect(asAccess.status).toBe(401);
    const info = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    expect(info.email).toBe(user.email);
    // The same code a second time is refused.
    const replay = await fetch(`${issuer}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: SPA.id,
        code: callback.searchParams.get('code')!,
        redirect_uri: SPA.redirect,
        code_verifier: verifier,
      }),
    });
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('works for a confidential client and with the OTP step for MFA users', async () => {
    const user = await h.createUser({ mfa: true });
    const config = await oidc.discovery(
      new URL(issuer),
      WEB.id,
      WEB.secret,
      oidc.ClientSecretPost(WEB.secret),
      insecure,
    );
    const { tokens } = await authorizationCodeFlow(config, WEB.redirect, user, () =>
      h.latestCode(user.email, 'login'),
    );
    expect(tokens.claims()?.sub).toBe(user.id);
  });

  it('rejects a wrong code_verifier, another redirect URI, and a code taken by another client', async () => {
    const user = await h.createUser();
    const config = await discoverPublic();
    const attempt = async (mutate: (fields: Record<string, string>) => Record<string, string>) => {
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: SPA.redirect,
        scope: 'wallet:read',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const callback = await signIn(url, user.email, user.password);
      const fields = {
        grant_type: 'authorization_code',
        client_id: SPA.id,
        code: callback.searchParams.get('code')!,
        redirect_uri: SPA.redirect,
        code_verifier: verifier,
      };
      const res = await fetch(`${issuer}/v1/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(mutate(fields)),
      });
      return { status: res.status, body: (await res.json()) as { error?: string; access_token?: string } };
    };
    expect((await attempt((f) => f)).status).toBe(200);
    expect((await attempt((f) => ({ ...f, code_verifier: oidc.randomPKCECodeVerifier() }))).body.error).toBe(
      'invalid_grant',
    );
    expect((await attempt((f) => ({ ...f, redirect_uri: `${SPA.redirect}/other` }))).body.error).toBe(
      'invalid_grant',
    );
    expect((await attempt((f) => ({ ...f, client_id: WEB.id, client_secret: WEB.secret }))).body.error).toBe(
      'invalid_grant',
    );
  });

  it('refuses unregistered redirect URIs without redirecting, plain PKCE and missing PKCE', async () => {
    const base = `${issuer}/v1/auth/authorize?response_type=code&client_id=${SPA.id}`;
    const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
    const evil = await fetch(
      `${base}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&code_challenge=${challenge}&code_challenge_method=S256`,
      { redirect: 'manual' },
    );
    expect(evil.status).toBe(400);
    expect(evil.headers.get('location')).toBeNull();
    const prefix = await fetch(
      `${base}&redirect_uri=${encodeURIComponent(`${SPA.redirect}x`)}&code_challenge=${challenge}&code_challenge_method=S256`,
      { redirect: 'manual' },
    );
    expect(prefix.status).toBe(400);
    const plain = await fetch(
      `${base}&redirect_uri=${encodeURIComponent(SPA.redirect)}&code_challenge=${challenge}&code_challenge_method=plain`,
      { redirect: 'manual' },
    );
    expect(plain.status).toBe(302);
    expect(new URL(plain.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const none = await fetch(`${base}&redirect_uri=${encodeURIComponent(SPA.redirect)}`, {
      redirect: 'manual',
    });
    expect(new URL(none.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const implicit = await fetch(
      `${base.replace('response_type=code', 'response_type=token')}&redirect_uri=${encodeURIComponent(SPA.redirect)}&code_challenge=${challenge}&code_challenge_method=S256`,
      { redirect: 'manual' },
    );
    expect(new URL(implicit.headers.get('location')!).searchParams.get('error')).toBe(
      'unsupported_response_type',
    );
  });

  it('the login page escapes what it echoes and gives one message for unknown and known emails', async () => {
    const config = await discoverPublic();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: SPA.redirect,
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const requestId = /name="request_id" value="([^"]+)"/.exec(await (await fetch(url)).text())![1]!;
    const submit = async (email: string) => {
      const res = await fetch(`${issuer}/v1/auth/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ request_id: requestId, email, password: 'wrong-password-123' }),
        redirect: 'manual',
      });
      return { status: res.status, html: await res.text() };
    };
    // Fresh values per run: these requests come from 127.0.0.1, whose failure counters other runs share.
    const xss = await submit(`"><script>alert(1)</script>${uniqueEmail('x')}`);
    expect(xss.status).toBe(401);
    expect(xss.html).not.toContain('<script>alert(1)');
    const known = await h.createUser();
    const a = await submit(known.email);
    const nobody = uniqueEmail('nobody');
    const b = await submit(nobody);
    expect(a.html.replace(known.email, '')).toBe(b.html.replace(nobody, ''));
  });
});

/** The payload of an access token (already issued by us; the tests read what it carries). */
function claimsOf(token: string): { scope: string; roles: string[]; client_id: string } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
    scope: string;
    roles: string[];
    client_id: string;
  };
}

describe('scopes of third-party tokens', () => {
  const rotate = (token: string) =>
    fetch(`${issuer}/v1/auth/keys/rotate`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  it('scope=openid grants no API scope, and the token of an admin user carries no admin role', async () => {
    const admin = await h.createUser({ roles: ['user', 'admin'] });
    const config = await discoverPublic();
    const { tokens } = await authorizationCodeFlow(config, SPA.redirect, admin, undefined, 'openid');
    expect(tokens.scope).toBe('openid');
    const claims = claimsOf(tokens.access_token);
    expect(claims.scope).toBe('openid');
    expect(claims.roles).toEqual(['user']);
    // Its roles no longer make it an operator at AuthService either.
    expect((await rotate(tokens.access_token)).status).toBe(403);
    // Refresh keeps the grant: still nothing at the API.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(claimsOf(refreshed.access_token).scope).toBe('openid');
  });

  it('the token of an admin user never carries admin, even when the client is registered for it', async () => {
    const admin = await h.createUser({ roles: ['user', 'admin'] });
    const config = await discoverPublic();
    const { tokens } = await authorizationCodeFlow(
      config,
      SPA.redirect,
      admin,
      undefined,
      'openid wallet:read transfers:write admin',
    );
    expect(tokens.scope).toBe('openid wallet:read transfers:write');
    expect(claimsOf(tokens.access_token)).toMatchObject({
      scope: 'openid wallet:read transfers:write',
      roles: ['user'],
      client_id: SPA.id,
    });
    expect((await rotate(tokens.access_token)).status).toBe(403);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(claimsOf(refreshed.access_token).scope).toBe('openid wallet:read transfers:write');
  });

  it('gets what it asked for and the user may hold: no admin for a plain user, no transfers:write unasked', async () => {
    const user = await h.createUser();
    const config = await discoverPublic();
    const { tokens } = await authorizationCodeFlow(
      config,
      SPA.redirect,
      user,
      undefined,
      'wallet:read admin',
    );
    expect(claimsOf(tokens.access_token).scope).toBe('wallet:read');
    expect(tokens.id_token).toBeUndefined();
    // A scope the client is not registered for is refused at the authorization endpoint.
    const web = await oidc.discovery(
      new URL(issuer),
      WEB.id,
      WEB.secret,
      oidc.ClientSecretPost(WEB.secret),
      insecure,
    );
    const url = oidc.buildAuthorizationUrl(web, {
      redirect_uri: WEB.redirect,
      scope: 'wallet:read admin',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const refused = await fetch(url, { redirect: 'manual' });
    expect(new URL(refused.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
  });
});

describe('refresh, revocation and introspection', () => {
  it('rotates refresh tokens and detects reuse', async () => {
    const user = await h.createUser();
    const config = await discoverPublic();
    const { tokens } = await authorizationCodeFlow(config, SPA.redirect, user);
    const rotated = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // Reuse ended the family: the rotated token is dead too.
    await expect(oidc.refreshTokenGrant(config, rotated.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('introspects live tokens for confidential clients and reports revoked ones inactive', async () => {
    const user = await h.createUser();
    const spa = await discoverPublic();
    const { tokens } = await authorizationCodeFlow(spa, SPA.redirect, user);
    const service = await discoverService();
    const live = await oidc.tokenIntrospection(service, tokens.access_token);
    expect(live).toMatchObject({ active: true, sub: user.id, client_id: SPA.id, iss: issuer });
    // The refresh token belongs to the SPA: another client learns nothing about it.
    expect(
      (await oidc.tokenIntrospection(service, tokens.refresh_token!, { token_type_hint: 'refresh_token' }))
        .active,
    ).toBe(false);
    await expect(oidc.tokenIntrospection(spa, tokens.access_token)).rejects.toMatchObject({
      error: 'invalid_client',
    });

    await oidc.tokenRevocation(spa, tokens.access_token);
    expect((await oidc.tokenIntrospection(service, tokens.access_token)).active).toBe(false);
    await oidc.tokenRevocation(spa, tokens.refresh_token!);
    await expect(oidc.refreshTokenGrant(spa, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // Revoking garbage is still a 200 (RFC 7009).
    await expect(oidc.tokenRevocation(spa, 'not-a-token')).resolves.toBeUndefined();
    expect((await oidc.tokenIntrospection(service, 'not-a-token')).active).toBe(false);
  });
});

describe('client authentication throttle', () => {
  it('blocks an address after 20 failed client authentications with 429 + Retry-After', async () => {
    const ip = `10.250.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
    const attempt = (secret: string) =>
      h.form(
        '/v1/auth/token',
        { grant_type: 'client_credentials' },
        { ...h.basic(ORCHESTRATOR.id, secret), 'x-forwarded-for': ip },
      );
    for (let i = 0; i < 20; i++) expect((await attempt(`wrong-${i}`)).status).toBe(401);
    const blocked = await attempt(ORCHESTRATOR.secret);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toBe('too_many_requests');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(
      (
        await h.form(
          '/v1/auth/token',
          { grant_type: 'client_credentials' },
          h.basic(ORCHESTRATOR.id, ORCHESTRATOR.secret),
        )
      ).status,
    ).toBe(200);
  });
});
