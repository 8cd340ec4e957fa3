#!/usr/bin/env bash
# Builds the Go tools the local stack needs into $VELORA_TOOLS_DIR (default ~/.cache/velora/bin),
# using only the Go module proxy — and only those the machine does not already provide, since a
# first build takes minutes. Nothing is built when the stack would not use it:
#   temporal  — Temporal CLI (dev server + Web UI + operator commands). Skipped when
#               TEMPORAL_CLI_PATH, or a `temporal` on PATH, has the dev-server flags the stack
#               passes (scripts/stack/temporal.ts), or the cached build is at the pinned version.
#   ferretdb  — MongoDB wire-protocol server on PostgreSQL (scripts/ferretdb wraps FerretDB).
#               Skipped when MONGO_URL answers a MongoDB ping (the stack and the tests then use
#               it), when `mongod` is installed, when FERRETDB_PATH is an executable, or when the
#               cached build is at the pinned version.
#   mailpit   — the SMTP catcher (with an HTTP API) AuthService delivers OTP codes to on the
#               local stack and in the tests. Skipped when a `mailpit` is on PATH or the cached
#               build is at the pinned version.
#   tctl      — legacy operator CLI, best effort (see docs/decisions/0001-local-temporal.md)
#   chromium  — the headless browser test/e2e/web-ui.test.ts drives the Temporal Web UI with
#               (playwright-core has no browser of its own): Debian's package, apt-get installed
#               when neither CHROMIUM_PATH nor a `chromium` on PATH exists. Not fatal: the stack
#               runs without it, and the browser test fails saying so.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
TOOLS_DIR=${VELORA_TOOLS_DIR:-$HOME/.cache/velora/bin}
mkdir -p "$TOOLS_DIR"
export GOBIN=$TOOLS_DIR
export GOFLAGS=${GOFLAGS:--buildvcs=false}
stamp() { echo "$TOOLS_DIR/.$1.version"; }
have() { [ -x "$TOOLS_DIR/$1" ] && [ "$(cat "$(stamp "$1")" 2>/dev/null)" = "$2" ]; }
say() { echo "[install-tools] $*"; }

if ! command -v go >/dev/null; then
  for d in /usr/local/go/bin /usr/lib/go/bin; do [ -x "$d/go" ] && export PATH="$d:$PATH"; done
fi

# Temporal CLI: the pinned release first, then the nearest ones whose go.mod has no replace directive.
TEMPORAL_VERSIONS=(v1.5.1 v1.5.0 v1.4.1 v1.3.0)
# The start-dev flags scripts/stack/temporal.ts passes: a CLI with all of them runs the stack.
# (Version strings cannot tell: a `go install` build reports itself as 0.0.0-DEV.)
TEMPORAL_FLAGS=(--ui-codec-endpoint --http-port --metrics-port --sqlite-pragma --search-attribute --dynamic-config-value)
temporal_usable() {
  local help
  help=$("$1" server start-dev --help 2>/dev/null) || return 1
  for flag in "${TEMPORAL_FLAGS[@]}"; do grep -q -- "$flag" <<<"$help" || return 1; done
}
on_path_temporal=$(command -v temporal || true)
if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then
  say "temporal: using TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH"
elif have temporal "${TEMPORAL_VERSIONS[0]}"; then
  say "temporal ${TEMPORAL_VERSIONS[0]}: present"
elif [ -n "$on_path_temporal" ] && temporal_usable "$on_path_temporal"; then
  say "temporal: using $on_path_temporal from PATH (it has every dev-server flag the stack uses)"
else
  if [ -n "$on_path_temporal" ]; then
    # The stack looks on PATH before the tools folder (scripts/stack/tools.ts): say how to pick the build.
    say "temporal on PATH ($on_path_temporal) lacks flags the stack needs (${TEMPORAL_FLAGS[*]});"
    say "building one; run the stack with TEMPORAL_CLI_PATH=$TOOLS_DIR/temporal"
  fi
  ok=
  for v in "${TEMPORAL_VERSIONS[@]}"; do
    say "temporal $v: go install (first build takes several minutes)"
    if go install "github.com/temporalio/cli/cmd/temporal@$v"; then echo "$v" > "$(stamp temporal)"; ok=1; break; fi
    say "temporal $v failed; trying the next release"
  done
  [ -n "$ok" ] || { say "could not build the Temporal CLI"; exit 1; }
fi

# FerretDB through the project's wrapper module (pinned in scripts/ferretdb/go.mod).
FERRET_VERSION=$(sed -n 's/^require github.com\/FerretDB\/FerretDB \(v[^ ]*\)$/\1/p' "$here/ferretdb/go.mod")
# True when MONGO_URL answers a ping within 3 s (the driver comes with npm ci; without it the
# answer is no, and FerretDB is built as before).
mongo_url_answers() {
  [ -n "${MONGO_URL:-}" ] || return 1
  (cd "$here/.." && node --input-type=module -e '
    import { MongoClient } from "mongodb";
    const client = new MongoClient(process.env.MONGO_URL, { serverSelectionTimeoutMS: 3000 });
    try { await client.db("admin").command({ ping: 1 }); } catch { process.exitCode = 1; }
    await client.close().catch(() => {});
  ' 2>/dev/null)
}
if mongo_url_answers; then
  say "MONGO_URL answers: FerretDB not needed (the stack and the tests use MONGO_URL)"
elif command -v mongod >/dev/null; then
  say "mongod found: FerretDB not needed"
elif [ -n "${FERRETDB_PATH:-}" ] && [ -x "$FERRETDB_PATH" ]; then
  say "ferretdb: using FERRETDB_PATH=$FERRETDB_PATH"
elif have ferretdb "$FERRET_VERSION"; then
  say "ferretdb $FERRET_VERSION: present"
else
  say "ferretdb $FERRET_VERSION: go build"
  (cd "$here/ferretdb" && go build -o "$TOOLS_DIR/ferretdb" .)
  echo "$FERRET_VERSION" > "$(stamp ferretdb)"
fi

# Mailpit: AuthService's SMTP delivery goes to it on the local stack (scripts/stack/mailpit.ts).
MAILPIT_VERSION=v1.33.1
if have mailpit "$MAILPIT_VERSION"; then
  say "mailpit $MAILPIT_VERSION: present"
elif command -v mailpit >/dev/null; then
  say "mailpit: using $(command -v mailpit) from PATH"
else
  say "mailpit $MAILPIT_VERSION: go install"
  go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
  echo "$MAILPIT_VERSION" > "$(stamp mailpit)"
fi

# tctl is optional: the Go module proxy refuses github.com/temporalio/tctl here (403), so this
# is tried once per machine and its failure only noted; `temporal` covers every operator task.
if have tctl v1.18.4; then
  say "tctl v1.18.4: present"
elif [ ! -f "$TOOLS_DIR/.tctl.failed" ]; then
  say "tctl v1.18.4: go install (optional)"
  if go install -ldflags=-checklinkname=0 github.com/temporalio/tctl/cmd/tctl@v1.18.4 2>"$TOOLS_DIR/.tctl.log"; then
    echo v1.18.4 > "$(stamp tctl)"
  else
    touch "$TOOLS_DIR/.tctl.failed"
    say "tctl could not be built ($(tail -n 1 "$TOOLS_DIR/.tctl.log")); operators use 'temporal' instead"
  fi
else
  say "tctl: unavailable on this machine (see $TOOLS_DIR/.tctl.log); operators use 'temporal'"
fi

# Chromium from Debian's archive (apt-get as root, else through sudo when it asks no password).
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then
  say "chromium: using CHROMIUM_PATH=$CHROMIUM_PATH"
elif command -v chromium >/dev/null; then
  say "chromium: using $(command -v chromium)"
else
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo -n)
  say "chromium: apt-get install chromium (Debian's package, for test/e2e/web-ui.test.ts)"
  if "${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium &&
    command -v chromium >/dev/null; then
    say "chromium: installed $(command -v chromium)"
  else
    say "chromium could not be installed (needs root or passwordless sudo); test/e2e/web-ui.test.ts needs it"
  fi
fi

# deploy-check (tools/deploy-check): validates deploy/ and docker-compose.yml offline. Building
# it here puts its modules in the Go module cache, so its test builds it again with GOPROXY=off
# (nothing fetched at validation time). Rebuilt when a source is newer than the binary.
checker="$here/../tools/deploy-check"
if [ -x "$TOOLS_DIR/deploy-check" ] && [ -z "$(find "$checker" \( -name '*.go' -o -name 'go.*' \) -newer "$TOOLS_DIR/deploy-check")" ]; then
  say "deploy-check: present"
else
  say "deploy-check: go build (modules from the Go module proxy)"
  (cd "$checker" && go build -o "$TOOLS_DIR/deploy-check" .)
fi
