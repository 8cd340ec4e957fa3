# One multi-stage image for every Velora service; the service is chosen by the command.
#   docker build -t velora .
#   docker run velora node dist/auth/main.js
# Node 24, the current LTS (Node 20 left support in April 2026), pinned to a release; the code
# runs on it (package.json engines; docs/deployment.md says how that was checked).
FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY lib lib
COPY auth auth
COPY wallet wallet
COPY workflows workflows
COPY activities activities
COPY workers workers
COPY gateway gateway
COPY temporal-config temporal-config
COPY payout-sim payout-sim
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:24.21.0-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
RUN useradd --system --uid 10001 velora
# payout-sim's state (compose mounts a named volume here, which takes this owner).
RUN mkdir -p /var/lib/payout-sim && chown 10001:10001 /var/lib/payout-sim
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/package.json package.json
# The documented dev defaults: with NODE_ENV=production every service refuses a secret found here.
COPY .env.example .env.example
# Non-code data some services read at run time (e.g. the common-password list, workflow sources for bundling).
COPY --from=build /app/auth auth
COPY --from=build /app/temporal-config temporal-config
USER 10001:10001
# Ready when the service in this container answers /readyz on its own port (each sets one of
# these; none set: the gateway's 8080). Kubernetes uses its own probes instead.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "const e=process.env,p=e.GATEWAY_PORT||e.AUTH_PORT||e.WALLET_PORT||e.WORKER_HEALTH_PORT||e.PAYOUT_SIM_PORT||'8080';fetch('http://127.0.0.1:'+p+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/gateway/main.js"]
