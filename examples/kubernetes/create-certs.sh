#!/usr/bin/env bash
# Creates a private CA, a server certificate for the BuildKit daemons and a client certificate for the
# agents, and writes them as Kubernetes Secrets:
#   buildkitd-tls        (namespace buildkit): ca.pem, cert.pem, key.pem  -> mounted by the daemons
#   buildkit-client-tls  (namespace azp):      ca.pem, cert.pem, key.pem  -> mounted by the agents
# The files stay in the output directory (default ./certs): upload client/ca.pem, client/cert.pem and
# client/key.pem as Secure files when a pipeline should download them (examples/pipelines/mtls-secure-files.yml),
# and keep ca-key.pem offline: it signs new certificates.
#
# Usage: ./create-certs.sh [output-dir] [extra-SAN ...]     e.g. ./create-certs.sh ./certs buildkit.example.com
# Environment (defaults in brackets): BUILDKIT_NAMESPACE [buildkit], AGENT_NAMESPACE [azp],
#   SERVICE [buildkitd], CLUSTER_DOMAIN [cluster.local], DAYS [365], APPLY [1: kubectl apply; 0: files only],
#   ARCHES [amd64 arm64: the per-architecture Services of buildkitd-per-arch.yaml]
# Re-running replaces the certificates and updates the Secrets in place; restart the daemons afterwards
# (kubectl -n buildkit rollout restart deployment/buildkitd or statefulset/buildkitd).
set -euo pipefail

: "${BUILDKIT_NAMESPACE:=buildkit}"
: "${AGENT_NAMESPACE:=azp}"
: "${DAEMON_SECRET:=buildkitd-tls}"
: "${CLIENT_SECRET:=buildkit-client-tls}"
: "${SERVICE:=buildkitd}"
: "${CLUSTER_DOMAIN:=cluster.local}"
: "${DAYS:=365}"
: "${APPLY:=1}"

out="${1:-./certs}"
shift || true

command -v openssl >/dev/null || { echo "create-certs.sh: openssl is required" >&2; exit 1; }
if [[ "$APPLY" == 1 ]] && ! command -v kubectl >/dev/null; then
  echo "create-certs.sh: kubectl is required (or run with APPLY=0 to write the files only)" >&2
  exit 1
fi

umask 077
mkdir -p "$out/daemon" "$out/client"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Names the daemons answer to: the Service, its namespace-qualified forms, every StatefulSet pod
# (<service>-N.<service>.<namespace>.svc...), and localhost for kubectl port-forward.
svc="$SERVICE.$BUILDKIT_NAMESPACE.svc"
sans="DNS:$SERVICE,DNS:$SERVICE.$BUILDKIT_NAMESPACE,DNS:$svc,DNS:$svc.$CLUSTER_DOMAIN"
sans="$sans,DNS:*.$svc,DNS:*.$svc.$CLUSTER_DOMAIN,DNS:localhost,IP:127.0.0.1"
# ...and the Service of each architecture in buildkitd-per-arch.yaml (<service>-<arch>.<namespace>.svc...).
for arch in ${ARCHES:-amd64 arm64}; do
  sans="$sans,DNS:$SERVICE-$arch.$BUILDKIT_NAMESPACE.svc,DNS:$SERVICE-$arch.$BUILDKIT_NAMESPACE.svc.$CLUSTER_DOMAIN"
done
for extra in "$@"; do
  if [[ "$extra" =~ ^[0-9.]+$ || "$extra" == *:* ]]; then sans="$sans,IP:$extra"; else sans="$sans,DNS:$extra"; fi
done

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# Signs the request $2 with the CA into $3, with the extensions in $4.
sign() {
  openssl x509 -req -in "$2" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" -set_serial "0x$(openssl rand -hex 16)" \
    -days "$DAYS" -sha256 -extfile "$4" -out "$3" 2>/dev/null
  echo "create-certs.sh: $1 certificate $3"
}

new_key "$out/ca-key.pem"
openssl req -new -x509 -key "$out/ca-key.pem" -sha256 -days "$DAYS" -subj "/CN=BuildKit CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/ca.pem"

new_key "$out/daemon/key.pem"
openssl req -new -key "$out/daemon/key.pem" -subj "/CN=$svc" -out "$work/daemon.csr"
cat >"$work/daemon.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $sans
EXT
sign daemon "$work/daemon.csr" "$out/daemon/cert.pem" "$work/daemon.ext"

new_key "$out/client/key.pem"
openssl req -new -key "$out/client/key.pem" -subj "/CN=azure-pipelines-agent" -out "$work/client.csr"
cat >"$work/client.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EXT
sign client "$work/client.csr" "$out/client/cert.pem" "$work/client.ext"

cp "$out/ca.pem" "$out/daemon/ca.pem"
cp "$out/ca.pem" "$out/client/ca.pem"

# Writes the directory $3 as the Secret $1 in namespace $2, creating or updating it.
apply_secret() {
  kubectl create secret generic "$1" --namespace "$2" \
    --from-file=ca.pem="$3/ca.pem" --from-file=cert.pem="$3/cert.pem" --from-file=key.pem="$3/key.pem" \
    --dry-run=client -o yaml | kubectl apply -f -
}

if [[ "$APPLY" == 1 ]]; then
  apply_secret "$DAEMON_SECRET" "$BUILDKIT_NAMESPACE" "$out/daemon"
  apply_secret "$CLIENT_SECRET" "$AGENT_NAMESPACE" "$out/client"
fi
