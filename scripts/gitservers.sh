#!/usr/bin/env bash
# What the git transport tests need (tests/integration/gitservers.py starts the servers itself):
# git with its http-backend, and Debian's sshd, which the tests run on 127.0.0.1 with their own
# config and keys, never as the system service.
#
#   scripts/gitservers.sh install   install git and openssh-server when they are missing
set -euo pipefail

source "$(dirname "$0")/service-lib.sh"

log() { echo "gitservers: $*" >&2; }

install_packages() {
    local missing=()
    [ -x /usr/lib/git-core/git-http-backend ] || missing+=(git)
    [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    install_missing "${missing[@]}"
}

case "${1:-}" in
    install) install_packages ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
