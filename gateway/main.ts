/**
 * Gateway wiring: builds every client once, hands them to createGatewayApp and serves the public
 * API on GATEWAY_HOST:GATEWAY_PORT and the metrics on their private listener. No behaviour lives here.
 */
import { Client, Connection } from '@temporalio/client';
import { createClient } from 'redis';
import { clientCredentialsToken } from '../lib/http-client.js';
import { createAccessTokenVerifier } from '../lib/jwt-verifier.js';
import { createLogger } from '../lib/logger.js';
import { dataConverterFromConfig } from '../lib/payload-codec.js';
import { serveApp } from '../lib/serve.js';
import { probe } from '../lib/service-app.js';
import { startTelemetry, temporalClientInterceptors } from '../lib/telemetry.js';
import { temporalTlsFromConfig } from '../lib/temporal-tls.js';
import { createGatewayApp } from './app.js';
import { loadGatewayConfig, metricsListener } from './config.js';
import { createRedisDenylist } from './http/authn.js';
import { createGatewayJwks } from './http/jwks.js';
import { createSyncedRateLimiter } from './http/rate-limit.js';
import { createUpstream } from './http/upstream.js';

await startTelemetry('gateway');
const config = loadGatewayConfig();
const log = createLogger('gateway', config.LOG_LEVEL);

// Commands fail fast while Redis is down (no offline queue), so a request never hangs on it.
const redis = createClient({
  url: config.REDIS_URL,
  disableOfflineQueue: true,
  socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(retries * 100, 2000) },
});
redis.on('error', (err: unknown) => log.warn({ err }, 'redis error'));
await redis
  .connect()
  .catch((err: unknown) => log.error({ err }, 'redis not reachable at start; retrying in background'));

// Lazy: the gateway starts (and answers 503 on Temporal routes) even while Temporal is down.
// Mutual TLS and payload encryption when configured (always in production).
const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS, tls: temporalTlsFromConfig(config) });
const temporal = new Client({
  connection,
  namespace: config.TEMPORAL_NAMESPACE,
  dataConverter: dataConverterFromConfig(config),
  interceptors: { workflow: await temporalClientInterceptors() },
});

const serviceToken = clientCredentialsToken({
  tokenUrl: `${config.AUTH_URL}/v1/auth/token`,
  clientId: config.GATEWAY_CLIENT_ID,
  clientSecret: config.GATEWAY_CLIENT_SECRET,
  scope: config.GATEWAY_CLIENT_SCOPE,
});
const breaker = {
  timeoutMs: config.UPSTREAM_TIMEOUT_MS,
  breakAfter: config.CIRCUIT_BREAK_AFTER,
  halfOpenAfterMs: config.CIRCUIT_HALF_OPEN_AFTER_MS,
};

const rateLimiter = createSyncedRateLimiter(
  redis,
  {
    ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
    authPerMinute: config.RATE_LIMIT_AUTH_PER_MINUTE,
    userPerMinute: config.RATE_LIMIT_USER_PER_MINUTE,
  },
  { onSyncError: (err) => log.warn({ err }, 'rate-limit counters not synced with redis') },
);

const { app, metricsApp } = createGatewayApp({
  config,
  log,
  verifyToken: createAccessTokenVerifier({
    jwks: createGatewayJwks(config.AUTH_JWKS_URL),
    // Clients repeat their token on every request: verify each one once (until exp, ≤ 5 min).
    cacheSize: 50_000,
    issuer: config.AUTH_ISSUER,
    audience: config.JWT_AUDIENCE,
    algorithms: [config.JWT_ALGORITHM],
  }),
  isRevoked: createRedisDenylist(redis),
  temporal,
  auth: createUpstream({ name: 'auth', baseUrl: config.AUTH_URL, ...breaker }),
  wallet: createUpstream({ name: 'wallet', baseUrl: config.WALLET_URL, token: serviceToken, ...breaker }),
  serviceToken,
  rateLimiter,
  // SET NX: the first gateway copy to see a payout-webhook signature wins; a replay is refused.
  payoutWebhookReplays: async (signature, ttlSeconds) =>
    (await redis.set(signature, '1', { NX: true, EX: ttlSeconds })) === 'OK',
  readiness: async () => ({
    redis: await probe(() => redis.ping()),
    temporal: await probe(() => connection.healthService.check({})),
  }),
});

// Metrics are for the operator's scraper only: their own listener, loopback unless configured.
const metricsServer = await serveApp({
  app: metricsApp,
  ...metricsListener(config),
  log,
  handleSignals: false,
});

await serveApp({
  app,
  port: config.GATEWAY_PORT,
  host: config.GATEWAY_HOST,
  log,
  onClose: async () => {
    metricsServer.close();
    rateLimiter.stop();
    await rateLimiter.sync();
    await connection.close();
    await redis.close();
  },
});
