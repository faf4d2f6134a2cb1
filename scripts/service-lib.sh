# Shared by scripts/engine.sh, scripts/swarm.sh and scripts/podman.sh (sourced, not run).

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

url_answers() {  # url_answers DOCKER_HOST_URL: the engine there answers its _ping
    local url=$1
    case "$url" in
        unix://*) curl -fsS --max-time 3 --unix-socket "${url#unix://}" http://engine/_ping >/dev/null 2>&1 ;;
        tcp://*) curl -fsS --max-time 3 "http://${url#tcp://}/_ping" >/dev/null 2>&1 ;;
        *) return 1 ;;
    esac
}

start_dockerd() {  # start_dockerd DESCRIPTION ROOT RUN [DOCKERD FLAGS...]: unless it answers, start the
    # dockerd whose data, log and pid file are under ROOT, socket and exec root under RUN, and wait for it
    local what=$1 root=$2 run=$3
    shift 3
    local sock="$run/docker.sock" pidfile="$run/dockerd.pid" logfile="$root/dockerd.log"
    if url_answers "unix://$sock"; then return 0; fi
    mkdir -p "$root" "$run"
    if running "$pidfile"; then
        log "$what (pid $(cat "$pidfile")) is starting"
    else
        rm -f "$pidfile" "$sock"
        log "starting $what on unix://$sock (log: $logfile)"
        # from /: the daemon keeps this directory as its own, and a checkout that started it may
        # be deleted while it runs on
        (cd / && exec setsid dockerd --data-root "$root/data" --exec-root "$run/exec" --pidfile "$pidfile" \
            --host "unix://$sock" "$@" >>"$logfile" 2>&1 </dev/null) &
    fi
    for _ in $(seq 1 120); do
        if url_answers "unix://$sock"; then return 0; fi
        sleep 0.5
    done
    log "$what did not answer within 60 s; last lines of $logfile:"
    tail -20 "$logfile" >&2
    return 1
}
