#!/usr/bin/env bash
# The whole suite on both engines at once: everything against the Docker engine in $DOCKER_HOST,
# and the contract and integration tests against the Podman service in $PODMAN_HOST, in parallel.
#
#   scripts/test.sh PYTHON [pytest arguments...]
#
# Podman's run writes to a log that is printed when it ends; the exit status is the worse of the two.
set -uo pipefail

PY=$1
shift
: "${DOCKER_HOST:?scripts/test.sh needs DOCKER_HOST}"
: "${PODMAN_HOST:?scripts/test.sh needs PODMAN_HOST}"

podman_log=$(mktemp)
trap 'rm -f "$podman_log"' EXIT

DOCKER_HOST=$PODMAN_HOST "$PY" -m pytest -q -p no:cacheprovider tests/contract tests/integration "$@" \
    >"$podman_log" 2>&1 &
podman_pid=$!

echo "== Docker ($DOCKER_HOST): unit, contract and integration tests"
"$PY" -m pytest -q -p no:cacheprovider tests "$@"
docker_status=$?

wait "$podman_pid"
podman_status=$?
echo "== Podman ($PODMAN_HOST): contract and integration tests"
cat "$podman_log"

[ "$docker_status" -eq 0 ] && [ "$podman_status" -eq 0 ]
