#!/usr/bin/env bash
# The Swarm-mode engine for the `--target swarm` tests: a single-node swarm whose one node is a manager.
#
#   scripts/swarm.sh ensure   print its DOCKER_HOST URL, starting the private daemon and making it a
#                             swarm manager if needed
#   scripts/swarm.sh stop     stop the private Swarm daemon (never any other; the swarm stays initialised)
#   scripts/swarm.sh image    make sure localhost/demo:1 exists on it (scripts/engine.sh image)
#
# $SWARM_HOST when set (it must answer and be a Swarm manager already: this script never turns
# someone's engine into a swarm), else one private dockerd per machine under /var/lib/reconciler-swarm
# and /run/reconciler-swarm, shared by every checkout. It runs beside scripts/engine.sh's private
# engine, which stays out of Swarm mode, so its networks never collide with the other engine's:
# a default bridge of its own (BRIDGE, made here), docker_gwbridge made on GWBRIDGE_SUBNET before
# `docker swarm init --advertise-addr 127.0.0.1` (run when `docker info` says the node is
# inactive), overlay networks from 10.232.0.0/16. Never --bridge none nor --default-address-pool:
# a dockerd started with either deletes the link named docker0, the private engine's default
# bridge (moby daemon_unix.go: removeDefaultBridgeInterface). A daemon already answering on the
# socket is adopted as it is, never restarted.
set -euo pipefail

ROOT=/var/lib/reconciler-swarm
RUN=/run/reconciler-swarm
SOCK="$RUN/docker.sock"
PIDFILE="$RUN/dockerd.pid"
LOG="$ROOT/dockerd.log"
ENGINE="$(dirname "$0")/engine.sh"
BRIDGE=rswarm0
BRIDGE_ADDR=10.233.0.1/24
GWBRIDGE_SUBNET=10.231.0.0/24

source "$(dirname "$0")/service-lib.sh"

log() { echo "swarm: $*" >&2; }

install_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v curl >/dev/null || missing+=(curl)
    command -v ip >/dev/null || missing+=(iproute2)
    install_missing "${missing[@]}"
}

start_private() {
    install_packages
    own_bridge
    start_dockerd "private Swarm dockerd" "$ROOT" "$RUN" --bridge "$BRIDGE"
}

own_bridge() {  # the Swarm dockerd's default bridge, on a subnet of its own: never docker0
    if ip link show "$BRIDGE" >/dev/null 2>&1; then return 0; fi
    ip link add name "$BRIDGE" type bridge
    ip addr add "$BRIDGE_ADDR" dev "$BRIDGE"
    ip link set "$BRIDGE" up
}

own_gwbridge() {  # own_gwbridge URL: the bridge of tasks on overlay networks, on our subnet (Docker's docs: "Customize the docker_gwbridge")
    if docker -H "$1" network inspect docker_gwbridge >/dev/null 2>&1; then return 0; fi
    docker -H "$1" network create --subnet "$GWBRIDGE_SUBNET" \
        --opt com.docker.network.bridge.name=docker_gwbridge \
        --opt com.docker.network.bridge.enable_icc=false \
        --opt com.docker.network.bridge.enable_ip_masquerade=true \
        docker_gwbridge >/dev/null
}

node_state() {  # node_state URL: LocalNodeState (inactive|pending|active|error|locked) and whether it manages
    docker -H "$1" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'
}

make_manager() {
    local url="unix://$SOCK" state
    state=$(node_state "$url")
    case "$state" in
        "active true") return 0 ;;
        inactive*)
            log "initialising a single-node swarm on $url"
            own_gwbridge "$url"
            docker -H "$url" swarm init --advertise-addr 127.0.0.1 --default-addr-pool 10.232.0.0/16 >/dev/null ;;
        *) log "$url is in swarm state '$state', not an active manager: see $LOG"; return 1 ;;
    esac
}

ensure() {
    if [ -n "${SWARM_HOST:-}" ]; then
        if ! url_answers "$SWARM_HOST"; then log "SWARM_HOST=$SWARM_HOST does not answer"; return 1; fi
        if [ "$(node_state "$SWARM_HOST")" != "active true" ]; then
            log "SWARM_HOST=$SWARM_HOST is not a Swarm manager (docker info: $(node_state "$SWARM_HOST"))"
            return 1
        fi
        echo "$SWARM_HOST"
        return 0
    fi
    start_private
    make_manager
    echo "unix://$SOCK"
}

stop() {
    stop_service "private Swarm dockerd" "$PIDFILE"
}

image() {
    local url
    url=$(ensure)
    DOCKER_HOST=$url ENGINE_CLI=docker "$ENGINE" image
}

case "${1:-}" in
    ensure) ensure ;;
    stop) stop ;;
    image) image ;;
    *) echo "usage: $0 ensure|stop|image" >&2; exit 2 ;;
esac
