# The two set-up commands: `make run` and `make test`. Both are complete on a fresh Debian machine
# (as root) and safe to run twice.
VENV := .venv
PY := $(VENV)/bin/python
ENGINE := scripts/engine.sh
PODMAN := scripts/podman.sh
SWARM := scripts/swarm.sh
STAMP := $(VENV)/.installed
STATUS_ADDR ?= 127.0.0.1:9110
SEED ?= 1
DURATION ?= 600

.PHONY: run test wheel-check unit lint engine engine-stop podman podman-stop swarm swarm-stop image bench chaos clean

$(PY):
	python3 -m venv $(VENV) || (apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv $(VENV))

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

engine:
	@$(ENGINE) ensure

image: install
	@DOCKER_HOST=$$($(ENGINE) ensure) $(ENGINE) image

run: install
	@export DOCKER_HOST=$$($(ENGINE) ensure) && $(ENGINE) image && \
	    exec $(VENV)/bin/reconciler run desired-state/ --status-addr $(STATUS_ADDR)

# Every test against Docker (the Swarm tests against the single-node swarm of scripts/swarm.sh), and the
# contract and integration tests against Podman, in parallel
# (the git transport tests run their own sshd and HTTP server: scripts/gitservers.sh installs them;
# the image tests their own registries: scripts/registry.sh installs docker-registry and htpasswd;
# the differential test compares with docker-compose: scripts/compose.sh installs it; the status
# page's browser tests drive Debian's chromium: scripts/browser.sh installs it and its driver).
test: install
	@scripts/gitservers.sh install
	@scripts/registry.sh install
	@scripts/compose.sh install
	@scripts/browser.sh install
	@export DOCKER_HOST=$$($(ENGINE) ensure) PODMAN_HOST=$$($(PODMAN) ensure) SWARM_HOST=$$($(SWARM) ensure) && \
	    $(ENGINE) image && $(PODMAN) image && $(SWARM) image && scripts/test.sh $(PY) && scripts/wheel-check.sh $(PY)

# The wheel installed into a fresh virtualenv, its console script run on a copy of the example.
wheel-check: install
	@export DOCKER_HOST=$$($(ENGINE) ensure) && $(ENGINE) image && scripts/wheel-check.sh $(PY)

unit: install
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

lint: install
	$(VENV)/bin/ruff check reconciler runtime tests bench

# Every benchmark on Docker (the Swarm one on the swarm of scripts/swarm.sh), then the agent's, the git
# source's and the images' on Podman (docs/benchmarks.md).
bench: install
	@scripts/registry.sh install
	@export DOCKER_HOST=$$($(ENGINE) ensure) SWARM_HOST=$$($(SWARM) ensure) && $(ENGINE) image && $(PY) -m bench
	@export DOCKER_HOST=$$($(PODMAN) ensure) && $(PODMAN) image && $(PY) -m bench agent git images

# The fault campaign against the agent (docs/chaos.md); not part of `make test`.
chaos: install
	@export DOCKER_HOST=$$($(ENGINE) ensure) && $(ENGINE) image && \
	    $(PY) -m bench.chaos --seed $(SEED) --duration $(DURATION)

engine-stop:
	@$(ENGINE) stop

podman:
	@$(PODMAN) ensure

podman-stop:
	@$(PODMAN) stop

# The single-node Swarm engine of the `--target swarm` tests (beside the private engine, never it).
swarm:
	@$(SWARM) ensure

swarm-stop:
	@$(SWARM) stop

clean:
	rm -rf $(VENV) *.egg-info
