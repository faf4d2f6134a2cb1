# Shared by scripts/engine.sh and scripts/podman.sh (sourced, not run).

stop_service() {  # stop_service DESCRIPTION PIDFILE: stop the process in PIDFILE, and only that one
    local what=$1 pidfile=$2 pid
    if running "$pidfile"; then
        pid=$(cat "$pidfile")
        log "stopping the $what (pid $pid)"
        kill "$pid"
        for _ in $(seq 1 60); do running "$pidfile" || return 0; sleep 0.5; done
        log "the $what (pid $pid) did not stop within 30 s"
        return 1
    fi
    log "the $what is not running"
}

running() {  # running PIDFILE: its process exists and is not a zombie left unreaped
    local pidfile=$1 pid state
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    kill -0 "$pid" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

install_missing() {  # install_missing PACKAGE...: apt-get install them, when any is named
    [ $# -gt 0 ] || return 0
    log "installing $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "$@" >&2
}
