# Exports service: every set-up step lives here, so a fresh machine needs only
# cargo, python3 and make.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PORT ?= 3000
EXPORTS_DATA_DIR ?= .exports
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PY_TOOLS := cfn-lint==1.58.0
CARGO ?= cargo

export PORT EXPORTS_DATA_DIR

.PHONY: help dev test unit fmt-check lint cfn-lint validate clean venv

help:
	@echo "make dev       run the service locally on the embedded backend (seeds a demo tenant)"
	@echo "make test      every test: cargo test, fmt, clippy, cfn-lint"
	@echo "make validate  cfn-lint on template.yaml"

## Run the service locally, seeded with the demo tenant; prints a working curl.
dev:
	$(CARGO) build -p exports-local
	./target/debug/exports-local serve --port $(PORT) --data-dir $(EXPORTS_DATA_DIR)

## Everything CI runs.
test: venv unit fmt-check lint cfn-lint
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "cargo: %d passed, %d failed\n", p, f }' target/test-output.log

venv: $(VENV)/.installed

$(VENV)/.installed: Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check $(PY_TOOLS)
	touch $@

unit:
	mkdir -p target
	$(CARGO) test --workspace --locked 2>&1 | tee target/test-output.log

fmt-check:
	$(CARGO) fmt --all --check

lint:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

cfn-lint validate: venv
	$(VENV)/bin/cfn-lint template.yaml

clean:
	rm -rf $(VENV) $(EXPORTS_DATA_DIR) target
