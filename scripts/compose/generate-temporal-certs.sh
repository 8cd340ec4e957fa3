#!/bin/sh
# A development CA and the certificates of the compose deployment's Temporal mutual TLS:
#   temporal        the frontend (and internode) certificate, for the names temporal and localhost
#   gateway, worker the clients that start and run workflows
#   ui, admin       the Web UI and the admin tools / health check
#   mailpit         the SMTP catcher's STARTTLS certificate (AuthService verifies it against ca.pem)
# Usage: sh scripts/compose/generate-temporal-certs.sh [dir]   (default: .compose/certs)
# Production: issue these from your own PKI and mount them at the same paths instead.
set -eu
dir=${1:-.compose/certs}
days=${TEMPORAL_CERT_DAYS:-365}
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

key ca
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/O=Velora dev/CN=Velora Temporal dev CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem

# issue NAME EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
issue() {
  key "$1"
  openssl req -new -key "$1.key" -subj "/O=Velora/CN=$1" -out "$1.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$2"
    if [ -n "${3:-}" ]; then echo "subjectAltName=$3"; fi
  } >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

# The server certificate also authenticates the server to itself (internode), hence clientAuth.
issue temporal serverAuth,clientAuth "DNS:temporal,DNS:localhost,IP:127.0.0.1"
for client in gateway worker ui admin; do issue "$client" clientAuth; done
issue mailpit serverAuth "DNS:mailpit"

# The containers run as different users; the directory is mounted read-only into them.
rm -f ca.srl
chmod 644 ./*.pem ./*.key
chmod 600 ca.key
echo "Temporal TLS certificates in $(pwd): ca.pem, temporal, gateway, worker, ui, admin (.pem/.key)"
