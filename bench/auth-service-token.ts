/**
 * AuthService's CPU per `/internal/*` call with and without the verified service-token cache
 * (auth/http/service-token.ts), in one process against real PostgreSQL and Redis:
 *
 *   TEST_AUTH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/velora_auth_test \
 *   TEST_REDIS_URL=redis://127.0.0.1:6379/15 \
 *   node --import tsx bench/auth-service-token.ts [calls per measurement=2000] [rounds=5]
 *
 * Both variants serve `GET /internal/users/:id` (what a transfer's reserve asks) through the
 * same routes, one re-verifying the token's ES256 signature on every call (before), one with
 * the cache (after); rounds interleaved on this shared machine, medians and spread of the
 * process's CPU time per call. Also the whole AuthService app (its logging and metrics
 * middleware included), which runs the cache. No assertion: numbers go to docs/benchmarks.md.
 */
import { Hono } from 'hono';
import type { Principal } from '../lib/jwt-verifier.js';
import {
  cacheVerifiedServiceTokens,
  keyPublishedIn,
  requireServiceToken,
} from '../auth/http/service-token.js';
import { createHarness } from '../auth/testing/harness.js';
import { internalUsersRoutes } from '../auth/users/internal-users.routes.js';

const [perMeasurement = 2000, rounds = 5] = process.argv.slice(2).map(Number);

const h = await createHarness();
const user = await h.createUser();
const token = await h.serviceToken();
const s = h.services;

function internalApp(verify: typeof s.tokens.verifyAccessToken) {
  const app = new Hono<{ Variables: { principal: Principal } }>();
  app.use('/internal/*', requireServiceToken(verify));
  app.route('/internal', internalUsersRoutes(s));
  return app;
}

const everyCall = internalApp(s.tokens.verifyAccessToken);
const cached = internalApp(
  cacheVerifiedServiceTokens(s.tokens.verifyAccessToken, {
    keyPublished: keyPublishedIn(s.keys),
    isRevoked: (jti) => s.tokens.isRevoked(jti),
  }),
);
const variants: Record<string, (path: string, init: RequestInit) => Response | Promise<Response>> = {
  'verify-every-call': (p, i) => everyCall.request(p, i),
  cached: (p, i) => cached.request(p, i),
  'whole-app (cached)': (p, i) => h.app.request(p, i),
};

const init = { headers: { authorization: `Bearer ${token}` } };
const path = `/internal/users/${user.id}`;

async function cpuPerCall(call: (p: string, i: RequestInit) => Response | Promise<Response>) {
  const start = process.cpuUsage();
  for (let i = 0; i < perMeasurement; i++) {
    const res = await call(path, init);
    if (res.status !== 200) throw new Error(`answered ${res.status}`);
    await res.arrayBuffer();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / perMeasurement;
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const call of Object.values(variants)) await cpuPerCall(call); // warm-up
for (let round = 0; round < rounds; round++) {
  for (const [name, call] of Object.entries(variants)) samples[name]!.push(await cpuPerCall(call));
}
for (const [name, xs] of Object.entries(samples)) {
  const sorted = [...xs].sort((a, b) => a - b);
  console.log(
    `${name.padEnd(20)} CPU per GET /internal/users/:id: median ${sorted[Math.floor(xs.length / 2)]!.toFixed(0)} µs ` +
      `(min ${sorted[0]!.toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}; ${rounds} rounds of ${perMeasurement})`,
  );
}
await h.close();
