#!/usr/bin/env bash
# What the differential test against Compose needs (tests/integration/test_compose_differential.py):
# Debian's docker-compose 1.29.2, the peer on this machine. It talks to $DOCKER_HOST, the private
# engine; its recommends (docker.io's daemon and service) are not installed.
#
#   scripts/compose.sh install   install docker-compose when it is missing
set -euo pipefail

[ "${1:-}" = install ] || { echo "usage: $0 install" >&2; exit 2; }
source "$(dirname "$0")/service-lib.sh"
log() { echo "compose: $*" >&2; }
[ -x /usr/bin/docker-compose ] || install_missing docker-compose
