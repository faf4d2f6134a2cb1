#!/usr/bin/env bash
# The product as a user installs it: build the wheel, install it into a fresh virtualenv (not
# editable, not the dev venv) and run the INSTALLED `reconciler` from a temporary directory on a
# copy of desired-state/: validate, plan, apply, plan again (nothing to do), then remove it all.
# Running the checkout (`python -m reconciler`) would hide a package or data file missing from the wheel.
#
#   DOCKER_HOST=unix:///... scripts/wheel-check.sh [PYTHON]    (make wheel-check; make test runs it)
#
# PYTHON (default python3) builds the wheel and the virtualenv; it needs pip and venv.
# It never touches the demo's resources (`make run` may be converging them on the same engine):
# everything is created under a unique --namespace, the copy of the example prefixes every resource
# name with that namespace, and its published ports (127.0.0.1:8080 in web.toml) are changed to
# ports the engine chooses (127.0.0.1::8080), since the demo holds the fixed ones.
set -euo pipefail
unset PYTHONPATH
export PIP_DISABLE_PIP_VERSION_CHECK=1
: "${DOCKER_HOST:?wheel-check needs DOCKER_HOST (make wheel-check sets it)}"

PYTHON=${1:-python3}
CHECKOUT=$(cd "$(dirname "$0")/.." && pwd)
NS="wheelcheck-$$-$RANDOM"
WORK=$(mktemp -d /tmp/reconciler-wheel-check.XXXXXX)
VENV="$WORK/venv"
APPLIED=""

log() { echo "wheel-check: $*" >&2; }

reconciler() {  # reconciler EXPECTED_EXIT ARGS...: the installed script, from $WORK/run; output shown on failure
    local expected=$1 code=0
    shift
    log "reconciler $*"
    (cd "$WORK/run" && "$VENV/bin/reconciler" "$@") >"$WORK/out" 2>&1 || code=$?
    if [ "$code" != "$expected" ]; then
        cat "$WORK/out" >&2
        log "FAILED: reconciler $* exited $code, expected $expected"
        exit 1
    fi
}

cleanup() {
    local code=$?
    if [ -n "$APPLIED" ]; then
        log "removing what namespace $NS created"
        (cd "$WORK/run" && "$VENV/bin/reconciler" apply empty --allow-empty --prune-volumes --namespace "$NS") \
            >/dev/null 2>&1 || log "could not remove it: see docker ps -a --filter label=io.reconciler.managed=$NS"
    fi
    rm -rf "$WORK"
    exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building the wheel from a copy of $CHECKOUT (setuptools writes build/ into the tree it builds)"
mkdir -p "$WORK/src" "$WORK/dist" "$WORK/run/empty"
tar -C "$CHECKOUT" --exclude-vcs --exclude=./.venv --exclude='*.egg-info' --exclude=__pycache__ --exclude=./build \
    -cf - . | tar -C "$WORK/src" -xf -
"$PYTHON" -m pip wheel -q --no-deps -w "$WORK/dist" "$WORK/src"
WHEEL=$(echo "$WORK"/dist/reconciler-*.whl)
log "built $(basename "$WHEEL")"

log "installing it into a fresh virtualenv"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q "$WHEEL"
LOCATION=$(cd "$WORK/run" && "$VENV/bin/python" -c 'import reconciler, schemas; print(reconciler.__file__, schemas.__file__)')
case "$LOCATION" in
    "$VENV"/*" $VENV"/*) ;;
    *) log "FAILED: the packages load from outside the virtualenv: $LOCATION"; exit 1 ;;
esac
reconciler 0 --version
log "$(cat "$WORK/out")"

log "copying desired-state/ to $WORK/run: names prefixed with $NS, host ports chosen by the engine"
cp -r "$CHECKOUT/desired-state" "$WORK/run/"
NAMES=$(sed -nE 's/^\[(container|network|volume)\.([A-Za-z0-9_-]+)[].].*/\2/p' "$WORK"/run/desired-state/*.toml \
    | sort -u | paste -sd'|')
sed -i -E \
    -e "s/(^|[^A-Za-z0-9_-])($NAMES)([^A-Za-z0-9_-]|$)/\1$NS-\2\3/g" \
    -e '/^ports *=/ s/:[0-9]+:/::/g' \
    "$WORK"/run/desired-state/*.toml

reconciler 0 validate
reconciler 2 plan --detailed-exitcode --namespace "$NS"
APPLIED=yes
reconciler 0 apply --namespace "$NS"
reconciler 0 plan --detailed-exitcode --namespace "$NS"
reconciler 0 apply empty --allow-empty --prune-volumes --namespace "$NS"
APPLIED=""
log "ok: the wheel installs and converges the example"
