#!/bin/sh
# Registers Velora's search attributes (same list as temporal-config/index.ts) on the compose
# Temporal server; "already exists" is fine.
set -u
for pair in TransferStatus:Keyword FromWalletId:Keyword ToWalletId:Keyword TransferAmount:Int TransferCurrency:Keyword InitiatedBy:Keyword TransferFailureCode:Keyword; do
  name=${pair%%:*}; type=${pair##*:}
  temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace default --name "$name" --type "$type" 2>&1 \
    | grep -v "already exists" || true
done
