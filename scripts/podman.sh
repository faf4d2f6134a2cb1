#!/usr/bin/env bash
# The private Podman service, for the tests and for anyone who wants to try the reconciler on Podman.
#
#   scripts/podman.sh ensure   print the address of the private Podman service, starting it if needed
#   scripts/podman.sh stop     stop the private Podman service (never any other)
#   scripts/podman.sh image    make sure localhost/demo:1 exists in the private Podman's storage
#   scripts/podman.sh cli ARGS the podman command on the private storage (works while the service is down)
#
# One per machine, shared by every checkout: `podman system service` (rootful, runc) on
# unix:///run/reconciler-podman/podman.sock, with its own containers.conf, storage.conf and
# registries.conf under /var/lib/reconciler-podman (pointed to by CONTAINERS_CONF,
# CONTAINERS_STORAGE_CONF and CONTAINERS_REGISTRIES_CONF), its own storage and network
# configuration, so it never touches a system Podman's containers, images or networks.
# These machines have no systemd: events go to a file, cgroups are managed by cgroupfs,
# and the reconciler runs declared healthchecks itself (docs/engines.md).
set -euo pipefail

ROOT=/var/lib/reconciler-podman
RUN=/run/reconciler-podman
SOCK="$RUN/podman.sock"
PIDFILE="$RUN/service.pid"
LOG="$ROOT/service.log"

export CONTAINERS_CONF="$ROOT/containers.conf"
export CONTAINERS_STORAGE_CONF="$ROOT/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$ROOT/registries.conf"

source "$(dirname "$0")/service-lib.sh"

log() { echo "podman: $*" >&2; }

answers() {
    curl -fsS --max-time 3 --unix-socket "$SOCK" http://podman/_ping >/dev/null 2>&1
}

install_packages() {
    local missing=()
    command -v podman >/dev/null || missing+=(podman)
    command -v runc >/dev/null || missing+=(runc)
    [ -x /usr/lib/podman/netavark ] || command -v netavark >/dev/null || missing+=(netavark)
    [ -x /usr/lib/podman/aardvark-dns ] || command -v aardvark-dns >/dev/null || missing+=(aardvark-dns)
    command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ] || missing+=(conmon)
    [ -x /usr/libexec/podman/catatonit ] || command -v catatonit >/dev/null || missing+=(catatonit)
    command -v iptables >/dev/null || missing+=(iptables)
    [ -x /bin/busybox ] || missing+=(busybox-static)
    command -v curl >/dev/null || missing+=(curl)
    install_missing "${missing[@]}"
}

write_config() {
    mkdir -p "$ROOT/storage" "$ROOT/networks" "$RUN"
    cat >"$CONTAINERS_CONF" <<EOF
# The private Podman service of scripts/podman.sh (written by it; edits are overwritten).
[containers]
# these machines refuse raising limits beyond their own: keep the service's
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$RUN/events.log"
# Podman ends every event stream when it rotates this file (1 MB by default, a few test runs):
# readers then reconnect, but a fault campaign counts a lost stream as a failure
events_logfile_max_size = "500m"
tmp_dir = "$RUN/libpod"
volume_path = "$ROOT/storage/volumes"
static_dir = "$ROOT/storage/libpod"

[network]
network_backend = "netavark"
network_config_dir = "$ROOT/networks"
EOF
    cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$ROOT/storage"
runroot = "$RUN/storage"
EOF
    cat >"$CONTAINERS_REGISTRIES_CONF" <<EOF
# Registries on the loopback address serve plain HTTP, as Docker allows by default. A location
# without a port matches that host on every port in Podman 4.3 (containers/image matches a prefix
# followed by ':', '/' or '@'), so the tests' registries on free ports of 127.0.0.1 are insecure too.
unqualified-search-registries = []

[[registry]]
location = "127.0.0.1"
insecure = true

[[registry]]
location = "localhost"
insecure = true
EOF
}

start_private() {
    install_packages
    write_config
    if answers; then return 0; fi
    if running "$PIDFILE"; then
        log "private Podman service (pid $(cat "$PIDFILE")) is starting"
    else
        # the events of a previous service are of no use, and every `since` query reads the whole
        # file: a file grown over many test runs made short queries answer nothing
        rm -f "$PIDFILE" "$SOCK" "$RUN/events.log"
        log "starting the private Podman service on unix://$SOCK (log: $LOG)"
        # from /: the service and every conmon it starts keep this directory as theirs, and a
        # checkout that started it may be deleted while it runs on
        (cd / && exec setsid podman system service --time=0 "unix://$SOCK" >>"$LOG" 2>&1 </dev/null) &
        echo $! >"$PIDFILE"
    fi
    for _ in $(seq 1 60); do
        if answers; then return 0; fi
        sleep 0.5
    done
    log "the private Podman service did not answer within 30 s; last lines of $LOG:"
    tail -20 "$LOG" >&2
    return 1
}

ensure() {
    start_private
    echo "unix://$SOCK"
}

stop() {
    stop_service "private Podman service" "$PIDFILE"
}

image() {
    install_packages
    write_config
    ENGINE_CLI=podman "$(dirname "$0")/engine.sh" image
}

case "${1:-}" in
    ensure) ensure ;;
    stop) stop ;;
    image) image ;;
    cli) shift; write_config; exec podman "$@" ;;
    *) echo "usage: $0 ensure|stop|image|cli ARGS" >&2; exit 2 ;;
esac
