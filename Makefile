# The two set-up commands: `make run` and `make test`. Both are complete on a fresh Debian machine
# (as root) and safe to run twice.
VENV := .venv
PY := $(VENV)/bin/python
ENGINE := scripts/engine.sh
STAMP := $(VENV)/.installed

.PHONY: run test unit lint engine engine-stop image bench clean

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
	    exec $(VENV)/bin/reconciler run desired-state/

test: install
	@export DOCKER_HOST=$$($(ENGINE) ensure) && $(ENGINE) image && \
	    $(PY) -m pytest -q -p no:cacheprovider

unit: install
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

lint: install
	$(VENV)/bin/ruff check reconciler runtime tests bench

bench: install
	@export DOCKER_HOST=$$($(ENGINE) ensure) && $(ENGINE) image && $(PY) -m bench

engine-stop:
	@$(ENGINE) stop

clean:
	rm -rf $(VENV) *.egg-info
