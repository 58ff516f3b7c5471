#!/usr/bin/env bash
# Registers this container as an agent of AZP_POOL, runs it, and removes the registration when it ends.
# Arguments go to run.sh: the KEDA ScaledJob passes --once (one job, then exit).
# Environment: AZP_URL (https://dev.azure.com/<organization>), AZP_TOKEN (a PAT with the scope
# "Agent Pools (read, manage)", used only to register and unregister), AZP_POOL, AZP_AGENT_NAME.
set -euo pipefail

: "${AZP_URL:?AZP_URL must be the organization URL, e.g. https://dev.azure.com/contoso}"
: "${AZP_TOKEN:?AZP_TOKEN must be a PAT that may manage agent pools}"
: "${AZP_POOL:=Default}"
: "${AZP_AGENT_NAME:=$(hostname)}"

# Keep the PAT out of the environment of every job this agent runs: a shell variable that is not
# exported is not inherited by run.sh or the pipeline's steps.
token="$AZP_TOKEN"
unset AZP_TOKEN
export VSO_AGENT_IGNORE=AZP_TOKEN,AZP_URL

cd /azp
./config.sh --unattended --url "$AZP_URL" --auth pat --token "$token" --pool "$AZP_POOL" \
  --agent "$AZP_AGENT_NAME" --work /azp/_work --replace --acceptTeeEula

unregister() {
  ./config.sh remove --unattended --auth pat --token "$token" || true
}
trap unregister EXIT
# SIGTERM (pod deletion, scale-in) reaches the agent, which finishes or abandons its job cleanly.
trap 'kill -TERM "$agent" 2>/dev/null' TERM INT

./run.sh "$@" &
agent=$!
wait "$agent" || wait "$agent"
