#!/bin/sh
# Separate databases and roles per service (no shared databases), plus Temporal's own; each
# role's password comes from the operator's environment (see docs/runbook.md, "Deploy with
# Docker Compose"). Run once by the postgres image on an empty data volume. WalletService has
# two roles: velora_wallet owns its tables and migrates them, velora_wallet_service serves and
# may only INSERT and SELECT the journal (granted by the owner at every start, migration 0043).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v auth_pw="$AUTH_DB_PASSWORD" -v wallet_pw="$WALLET_DB_PASSWORD" -v wallet_service_pw="$WALLET_SERVICE_DB_PASSWORD" \
  -v temporal_pw="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE velora_auth LOGIN PASSWORD :'auth_pw';
CREATE DATABASE velora_auth OWNER velora_auth;
CREATE ROLE velora_wallet LOGIN PASSWORD :'wallet_pw';
CREATE DATABASE velora_wallet OWNER velora_wallet;
CREATE ROLE velora_wallet_service LOGIN PASSWORD :'wallet_service_pw';
CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_pw';
SQL
