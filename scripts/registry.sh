#!/usr/bin/env bash
# What the image tests need (tests/integration/registry.py starts the registries itself, on
# 127.0.0.1 with their own configuration and storage, never as the system service): Debian's
# docker-registry (the CNCF distribution registry, `docker-registry serve CONFIG.yml`) and
# apache2-utils for `htpasswd -B` (the registry's basic auth takes bcrypt entries only).
#
#   scripts/registry.sh install   install docker-registry and apache2-utils when they are missing
set -euo pipefail

source "$(dirname "$0")/service-lib.sh"

log() { echo "registry: $*" >&2; }

install_packages() {
    local missing=()
    [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
    command -v htpasswd >/dev/null || missing+=(apache2-utils)
    # the package's own service is of no use to the tests: keep it from starting where it could
    if [ ${#missing[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    install_missing "${missing[@]}"
}

case "${1:-}" in
    install) install_packages ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
