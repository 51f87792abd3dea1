# berth: `make run` and `make test` are the two commands a new machine needs (Debian 12, as root).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
APT_PACKAGES := runc busybox-static tini iproute2 procps nftables
STAMP := $(VENV)/.installed

.PHONY: apt install run test test-unit test-integration bench clean

install: apt $(STAMP)

apt:
	@for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing apt packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

run: install
	bash config/demo.sh

test: install
	$(VENV)/bin/python -m pytest -q tests

test-unit: install
	$(VENV)/bin/python -m pytest -q tests/unit tests/shell

test-integration: install
	$(VENV)/bin/python -m pytest -q tests/integration

bench: install
	$(VENV)/bin/python bench/start.py

clean:
	rm -rf $(VENV) build *.egg-info
