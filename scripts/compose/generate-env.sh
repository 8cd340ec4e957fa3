#!/bin/sh
# Writes the operator's env file for `docker compose` with fresh random secrets (never the dev
# defaults of .env.example, which production refuses). Compose reads `.env` next to
# docker-compose.yml; keep it out of version control (it is in .gitignore) and readable only by
# the operator. Usage: sh scripts/compose/generate-env.sh [file]   (default: .env; never overwrites)
set -eu
file=${1:-.env}
if [ -e "$file" ]; then
  echo "$file exists; not overwriting it" >&2
  exit 1
fi
hex() { openssl rand -hex "$1"; }
b64() { openssl rand -base64 "$1"; }
umask 077
cat >"$file" <<ENV
# Velora compose secrets, generated $(date -u +%Y-%m-%dT%H:%M:%SZ). See docs/runbook.md.
POSTGRES_PASSWORD=$(hex 24)
AUTH_DB_PASSWORD=$(hex 24)
WALLET_DB_PASSWORD=$(hex 24)
WALLET_SERVICE_DB_PASSWORD=$(hex 24)
TEMPORAL_DB_PASSWORD=$(hex 24)
REDIS_PASSWORD=$(hex 24)
MONGO_PASSWORD=$(hex 24)
RABBITMQ_PASSWORD=$(hex 24)
AUTH_KEY_ENCRYPTION_KEY=$(b64 32)
OTP_PEPPER=$(hex 32)
VELORA_ADMIN_EMAIL=admin@velora.local
VELORA_ADMIN_PASSWORD=$(hex 16)
ORCHESTRATOR_CLIENT_SECRET=$(hex 32)
GATEWAY_CLIENT_SECRET=$(hex 32)
WORKFLOW_INPUT_KEY=$(b64 32)
PAYLOAD_CODEC_KEYS=k$(date -u +%Y%m%d):$(b64 32)
CODEC_SERVER_OPERATOR_TOKEN=$(hex 32)
GRAFANA_ADMIN_PASSWORD=$(hex 16)
PAYOUT_PROVIDER_API_KEY=$(hex 32)
PAYOUT_WEBHOOK_SECRET=$(hex 32)
# The public URL in front of the gateway (the tokens' issuer); compose's default is http://localhost:8080.
# VELORA_PUBLIC_URL=https://pay.example.com
ENV
echo "wrote $file (mode 600)"
