#!/bin/sh
# Velora's custom search attributes on a Temporal namespace (the list of
# temporal-config/index.ts, SEARCH_ATTRIBUTE_DECLARATIONS; scripts/deploy-check.test.ts keeps
# them equal). Run from the temporalio/admin-tools image by docker-compose.yml and by the
# Kubernetes Job and init containers of deploy/k8s/base.
#   search-attributes.sh register   create the missing ones, then check all are there
#   search-attributes.sh wait       only check, until all are there (init containers)
# Both retry while Temporal is not up yet and exit non-zero, naming what is missing, when the
# attempts run out: nothing that upserts these attributes starts without them. With
# TEMPORAL_NAMESPACE_RETENTION set (docker-compose.yml; the Helm chart creates Kubernetes' namespace)
# `register` first creates the namespace with that retention when it does not exist.
# Reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and, for mutual TLS, TEMPORAL_TLS_CA_PATH,
# TEMPORAL_TLS_CERT_PATH, TEMPORAL_TLS_KEY_PATH, TEMPORAL_TLS_SERVER_NAME; SEARCH_ATTRIBUTES_ATTEMPTS
# (default 60) and SEARCH_ATTRIBUTES_SLEEP_SECONDS (default 5).
set -eu
mode=${1:-register}
ATTRIBUTES='TransferStatus:Keyword FromWalletId:Keyword ToWalletId:Keyword TransferAmount:Int TransferCurrency:Keyword InitiatedBy:Keyword TransferFailureCode:Keyword WithdrawalStatus:Keyword'
attempts=${SEARCH_ATTRIBUTES_ATTEMPTS:-60}
pause=${SEARCH_ATTRIBUTES_SLEEP_SECONDS:-5}
: "${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS}"
namespace=${TEMPORAL_NAMESPACE:-default}

t() {
  if [ -n "${TEMPORAL_TLS_CERT_PATH:-}" ]; then
    temporal "$@" --address "$TEMPORAL_ADDRESS" --namespace "$namespace" \
      --tls-ca-path "${TEMPORAL_TLS_CA_PATH:?set TEMPORAL_TLS_CA_PATH}" --tls-cert-path "$TEMPORAL_TLS_CERT_PATH" \
      --tls-key-path "${TEMPORAL_TLS_KEY_PATH:?set TEMPORAL_TLS_KEY_PATH}" \
      --tls-server-name "${TEMPORAL_TLS_SERVER_NAME:-${TEMPORAL_ADDRESS%:*}}"
  else
    temporal "$@" --address "$TEMPORAL_ADDRESS" --namespace "$namespace"
  fi
}

# The attributes not registered with their type (" Name Name …"); status 1 when Temporal does
# not answer. `list --output json` maps each custom name to INDEXED_VALUE_TYPE_<TYPE>.
missing() {
  json=$(t operator search-attribute list --output json) || return 1
  out=
  for pair in $ATTRIBUTES; do
    type=$(printf '%s' "${pair##*:}" | tr '[:lower:]' '[:upper:]')
    printf '%s\n' "$json" | grep -q "\"${pair%%:*}\": *\"INDEXED_VALUE_TYPE_$type\"" || out="$out ${pair%%:*}"
  done
  printf '%s' "$out"
}

case "$mode" in
  register | wait) ;;
  *) echo "usage: $0 register|wait" >&2; exit 2 ;;
esac

i=1
while :; do
  if [ "$mode" = register ] && [ -n "${TEMPORAL_NAMESPACE_RETENTION:-}" ] &&
    ! t operator namespace describe >/dev/null 2>&1; then
    t operator namespace create --retention "$TEMPORAL_NAMESPACE_RETENTION" || true
  fi
  if gone=$(missing); then
    if [ -z "$gone" ]; then
      echo "search attributes on namespace $namespace: all registered"
      exit 0
    fi
    if [ "$mode" = register ]; then
      for pair in $ATTRIBUTES; do
        case " $gone " in *" ${pair%%:*} "*) ;; *) continue ;; esac
        t operator search-attribute create --name "${pair%%:*}" --type "${pair##*:}" || true
      done
      continue_msg="created$gone; checking"
    else
      continue_msg="missing:$gone"
    fi
  else
    gone=' (Temporal not answering)'
    continue_msg="Temporal at $TEMPORAL_ADDRESS not answering"
  fi
  if [ "$i" -ge "$attempts" ]; then
    echo "search attributes on namespace $namespace still missing after $attempts attempts:$gone" >&2
    exit 1
  fi
  echo "attempt $i/$attempts: $continue_msg"
  i=$((i + 1))
  sleep "$pause"
done
