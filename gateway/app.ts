import type { Hono } from 'hono';
import { cors } from 'hono/cors';
import { createMetricsApp, createServiceApp } from '../lib/service-app.js';
import { workflowInputKey } from '../lib/workflow-input-signature.js';
import { createAdminRoutes } from './admin/admin.routes.js';
import { createAuthRoutes, createWellKnownRoutes } from './auth/auth.routes.js';
import { createRegistration } from './auth/registration.js';
import type { GatewayDeps } from './gateway-deps.js';
import { createDocsRoutes } from './openapi/docs.routes.js';
import { createRouter } from './openapi/router.js';
import { createGatewayErrorHandler } from './http/errors.js';
import { createGatewayMetrics } from './http/metrics.js';
import { jsonDepthLimit } from './http/json-depth.js';
import { rateLimit, type RateLimiter } from './http/rate-limit.js';
import { requestContext, type GatewayEnv } from './http/request-context.js';
import { authorize, routesWithoutRule } from './http/route-access.js';
import { createRouteMiddleware } from './http/route-middleware.js';
import type { Orchestrator } from './temporal/orchestrator.js';
import { createTransferRoutes } from './transfers/transfers.routes.js';
import { createTransferService } from './transfers/transfers.service.js';
import { createSpendCheck } from './wallets/wallet-access.js';
import { createWalletRoutes } from './wallets/wallets.routes.js';
import { createPayoutWebhookRoutes } from './withdrawals/payout-webhook.routes.js';
import { createWithdrawalRoutes } from './withdrawals/withdrawals.routes.js';

export type { GatewayDeps } from './gateway-deps.js';

const UNMETERED = new Set(['/healthz', '/readyz']);

/** The public API, and the metrics app main.ts serves on its own private listener. */
export interface GatewayApps {
  app: Hono<GatewayEnv>;
  metricsApp: Hono;
}

/**
 * Builds the public API of docs/api.md: one sub-app per resource over the shared service
 * skeleton, every route behind its access rule (route-access.ts). Throws when a route has none.
 */
export function createGatewayApp(deps: GatewayDeps): GatewayApps {
  const { app, registry } = createServiceApp<GatewayEnv>({
    service: 'gateway',
    log: deps.log,
    metricsRoute: false,
    readiness: async () => ({
      auth: deps.auth.isAvailable(),
      wallet: deps.wallet.isAvailable(),
      ...(await (deps.readiness?.() ?? Promise.resolve({}))),
    }),
  });
  const metrics = createGatewayMetrics(registry, [deps.auth, deps.wallet]);
  // Every budget, counted where it is spent: the refusals show in gateway_rate_limited_total.
  const rateLimiter: RateLimiter = {
    async consume(bucket, key) {
      const decision = await deps.rateLimiter.consume(bucket, key);
      if (!decision.allowed) metrics.rateLimited(bucket);
      return decision;
    },
  };
  app.onError(createGatewayErrorHandler(deps.log));
  app.use('*', requestContext(deps.config.TRUSTED_PROXIES));
  if (deps.config.CORS_ORIGINS.length > 0) {
    app.use(
      '*',
      cors({
        origin: [...deps.config.CORS_ORIGINS],
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        allowHeaders: [
          'authorization',
          'content-type',
          'idempotency-key',
          'prefer',
          'x-request-id',
          'traceparent',
        ],
        exposeHeaders: [
          'x-request-id',
          'location',
          'retry-after',
          'ratelimit-limit',
          'ratelimit-remaining',
          'ratelimit-reset',
          'preference-applied',
        ],
        maxAge: 600,
      }),
    );
  }
  app.use(
    '*',
    rateLimit(rateLimiter, 'ip', (c) => (UNMETERED.has(c.req.path) ? undefined : c.var.clientIp)),
  );
  app.use('*', jsonDepthLimit());
  app.use('*', authorize(deps.verifyToken, deps.isRevoked));

  const { authn, signedIn, authBudget } = createRouteMiddleware(
    deps.verifyToken,
    deps.isRevoked,
    rateLimiter,
  );
  const { auth, wallet, config } = deps;
  const orchestrator: Orchestrator = {
    temporal: deps.temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    rpcMs: config.TEMPORAL_RPC_TIMEOUT_MS,
    waitMs: config.WORKFLOW_WAIT_MS,
    inputKey: workflowInputKey(config.WORKFLOW_INPUT_KEY),
  };

  const api = createRouter();
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'access token from /v1/auth/login or /v1/auth/token',
  });
  const registerUser = createRegistration({ auth, serviceToken: deps.serviceToken, orchestrator });
  api.route('/v1/auth', createAuthRoutes({ auth, authn, authBudget, registerUser }));
  api.route('/.well-known', createWellKnownRoutes({ auth }));
  api.route('/v1/wallets', createWalletRoutes({ wallet, signedIn }));
  api.route(
    '/v1/transfers',
    createTransferRoutes({
      signedIn,
      // Owner and currency of a wallet never change: one WalletService read per source wallet,
      // not one per transfer.
      spendableWallet: createSpendCheck(wallet),
      transfers: createTransferService({ ...orchestrator, wallet }),
    }),
  );
  const withdrawals = createWithdrawalRoutes({
    orchestrator,
    wallet,
    signedIn,
    payout: {
      timeoutMs: config.WITHDRAWAL_PAYOUT_TIMEOUT_MS,
      lateResultWindowMs: config.WITHDRAWAL_LATE_RESULT_WINDOW_MS,
    },
  });
  api.route('/v1/wallets', withdrawals.wallets);
  api.route('/v1/withdrawals', withdrawals.withdrawals);
  api.route(
    '/v1/webhooks',
    createPayoutWebhookRoutes({
      orchestrator,
      log: deps.log,
      secret: config.PAYOUT_WEBHOOK_SECRET,
      replays: deps.payoutWebhookReplays,
    }),
  );
  api.route('/v1/admin', createAdminRoutes({ orchestrator, wallet, signedIn }));
  app.route('/', createDocsRoutes(api));
  app.route('/', api);

  const unprotected = routesWithoutRule(app.routes);
  if (unprotected.length > 0) {
    throw new Error(
      `gateway routes without an access rule in gateway/http/route-access.ts: ${unprotected.join(', ')}`,
    );
  }
  return { app, metricsApp: createMetricsApp(registry) };
}
