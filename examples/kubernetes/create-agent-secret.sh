#!/usr/bin/env bash
# Writes the Secret azp-agent (namespace azp) that the agents and KEDA read: AZP_URL, the organization
# URL, and AZP_TOKEN, a personal access token with the scope "Agent Pools (read, manage)".
#
# Usage: AZP_URL=https://dev.azure.com/contoso AZP_TOKEN=<PAT> ./create-agent-secret.sh
# The PAT is read from the environment, never from the command line (it would land in shell history).
set -euo pipefail

: "${AGENT_NAMESPACE:=azp}"
: "${AGENT_SECRET:=azp-agent}"
: "${AZP_URL:?set AZP_URL to https://dev.azure.com/<organization>}"
: "${AZP_TOKEN:?set AZP_TOKEN to a PAT with the scope Agent Pools (read, manage)}"

kubectl create secret generic "$AGENT_SECRET" --namespace "$AGENT_NAMESPACE" \
  --from-literal=AZP_URL="$AZP_URL" --from-file=AZP_TOKEN=<(printf '%s' "$AZP_TOKEN") \
  --dry-run=client -o yaml | kubectl apply -f -
