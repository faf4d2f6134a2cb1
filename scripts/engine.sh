#!/usr/bin/env bash
# The container engine for development, tests and the demo.
#
#   scripts/engine.sh ensure   print a DOCKER_HOST that answers, starting the private daemon if needed
#   scripts/engine.sh stop     stop the private daemon (never any other)
#   scripts/engine.sh image    make sure localhost/demo:1 exists on the engine in $DOCKER_HOST
#                              (with the CLI in $ENGINE_CLI, default docker; scripts/podman.sh
#                              sets it to podman for the private Podman service)
#
# Order of preference: $DOCKER_HOST when set, then the user's /var/run/docker.sock when it answers,
# then one private dockerd per machine under /var/lib/reconciler-engine and /run/reconciler-engine,
# shared by every checkout (two dockerds on one machine would share the docker0 bridge).
set -euo pipefail

ROOT=/var/lib/reconciler-engine
RUN=/run/reconciler-engine
SOCK="$RUN/docker.sock"
PIDFILE="$RUN/dockerd.pid"
IMAGE=localhost/demo:1
CLI=${ENGINE_CLI:-docker}

source "$(dirname "$0")/service-lib.sh"

log() { echo "engine: $*" >&2; }

install_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx wget || missing+=(busybox-static)
    command -v curl >/dev/null || missing+=(curl)
    command -v ip >/dev/null || missing+=(iproute2)
    install_missing "${missing[@]}"
}

start_private() {
    install_packages
    if url_answers "unix://$SOCK" && ! ip link show docker0 >/dev/null 2>&1; then
        # another dockerd on this machine started with --bridge none or --default-address-pool
        # deleted it (moby: removeDefaultBridgeInterface); only a restart makes it again
        log "the private dockerd lost its default bridge docker0: restarting it"
        stop
    fi
    start_dockerd "private dockerd" "$ROOT" "$RUN" --iptables=true
}

ensure() {
    if [ -n "${DOCKER_HOST:-}" ]; then
        if url_answers "$DOCKER_HOST"; then echo "$DOCKER_HOST"; return 0; fi
        log "DOCKER_HOST=$DOCKER_HOST does not answer"
        return 1
    fi
    if [ -S /var/run/docker.sock ] && url_answers unix:///var/run/docker.sock; then
        echo unix:///var/run/docker.sock
        return 0
    fi
    start_private
    echo "unix://$SOCK"
}

stop() {
    stop_service "private dockerd" "$PIDFILE"
}

has_demo_content() {  # the tag alone proves nothing: run the applets the demo and the tests use
    local probe status=0  # create, start -a, rm: docker's `run` refuses Podman's compatible API
    probe=$($CLI create --network none --entrypoint /bin/sh "$IMAGE" -c \
        'for tool in httpd wget sleep true; do command -v "$tool" >/dev/null || exit 1; done
         test -f /srv/index.html' 2>/dev/null) || return 1
    $CLI start -a "$probe" >/dev/null 2>&1 || status=1
    $CLI rm -f "$probe" >/dev/null 2>&1
    return $status
}

image() {
    if [ "$CLI" = docker ]; then
        : "${DOCKER_HOST:?engine.sh image needs DOCKER_HOST}"
        install_packages
    fi
    if $CLI image inspect "$IMAGE" >/dev/null 2>&1; then
        if has_demo_content; then return 0; fi
        log "$IMAGE exists but lacks what the demo and the tests run (sh, httpd, wget, sleep): building it again"
        $CLI image rm -f "$IMAGE" >/dev/null
    fi
    log "building $IMAGE from busybox-static"
    local rootfs
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' RETURN
    mkdir -p "$rootfs"/{bin,etc,tmp,srv,var/www}
    cp /bin/busybox "$rootfs/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
    done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
    echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    echo '<h1>hello from localhost/demo:1</h1>' >"$rootfs/srv/index.html"
    tar -C "$rootfs" -c . | $CLI import \
        --change 'ENV PATH=/bin' \
        --change 'CMD ["sh"]' \
        - "$IMAGE" >/dev/null
}

case "${1:-}" in
    ensure) ensure ;;
    stop) stop ;;
    image) image ;;
    *) echo "usage: $0 ensure|stop|image" >&2; exit 2 ;;
esac
