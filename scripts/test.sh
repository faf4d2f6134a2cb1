#!/usr/bin/env bash
# The whole suite on both engines at once: everything against the Docker engine in $DOCKER_HOST
# (with the Swarm tests, tests/integration/swarm, against the swarm manager in $SWARM_HOST),
# and the contract and integration tests against the Podman service in $PODMAN_HOST, in parallel.
#
#   scripts/test.sh PYTHON [pytest arguments...]
#
# Podman's run writes to a log that is printed when it ends. Each run may stop and start its own
# engine, so the test that uses both engines at once runs after both; the fault campaigns, which
# need their pace of faults, run then too, one engine at a time. The exit status is the worst.
set -uo pipefail

PY=$1
shift
: "${DOCKER_HOST:?scripts/test.sh needs DOCKER_HOST}"
: "${PODMAN_HOST:?scripts/test.sh needs PODMAN_HOST}"

podman_log=$(mktemp)
trap 'rm -f "$podman_log"' EXIT

both=tests/integration/test_two_engines.py
chaos=tests/integration/test_chaos.py
swarm=tests/integration/swarm

DOCKER_HOST=$PODMAN_HOST "$PY" -m pytest -q -p no:cacheprovider tests/contract tests/integration \
    --ignore "$both" --ignore "$chaos" --ignore "$swarm" "$@" >"$podman_log" 2>&1 &
podman_pid=$!

echo "== Docker ($DOCKER_HOST): unit, contract and integration tests"
"$PY" -m pytest -q -p no:cacheprovider tests --ignore "$both" --ignore "$chaos" "$@"
docker_status=$?

wait "$podman_pid"
podman_status=$?
echo "== Podman ($PODMAN_HOST): contract and integration tests"
cat "$podman_log"

echo "== Docker and Podman side by side, then the fault campaign on each"
"$PY" -m pytest -q -p no:cacheprovider "$both" "$chaos" "$@"
late_status=$?
DOCKER_HOST=$PODMAN_HOST "$PY" -m pytest -q -p no:cacheprovider "$chaos" "$@"
podman_chaos_status=$?

for status in "$docker_status" "$podman_status" "$late_status" "$podman_chaos_status"; do
    [ "$status" -eq 0 ] || exit 1
done
