# jkjav — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
CARGO_JOBS ?= 2

.PHONY: run run-seed test test-deps test-browser lint bench bench-deps bench-compare load-test

## Start the server on http://127.0.0.1:3000 with the in-memory store and the demo catalogue.
run:
	JKJAV_LOG_FORMAT=pretty cargo run -j$(CARGO_JOBS) -- serve

## The same with the 2021 seed's schedule (PWTC, 2021-05-16 to 2021-06-14), for the seed's curl/hey commands.
run-seed:
	JKJAV_LOG_FORMAT=pretty JKJAV_CATALOGUE=data/seed-2021.toml cargo run -j$(CARGO_JOBS) -- serve

TANSU ?= $(shell command -v tansu 2>/dev/null || echo $${CARGO_HOME:-$$HOME/.cargo}/bin/tansu)

## Install what the tests need when it is missing: redis-server, chromium and a Java runtime
## (for the Nu HTML Checker) from Debian's packages (never a downloaded browser or JRE), the
## browser tests' pinned npm packages (vnu-jar among them), and the tansu Kafka-compatible broker
## (cargo install, once: ~15 min on 2 cores, then reused).
test-deps:
	@command -v redis-server >/dev/null || { echo "installing redis-server"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	@command -v redis-server >/dev/null || { echo "redis-server is required and could not be installed" >&2; exit 1; }
	@test -x "$(TANSU)" || { echo "installing the tansu broker (cargo install, takes a while once)"; \
	  cargo install tansu --locked --features dynostore -j$(CARGO_JOBS); }
	@test -x "$(TANSU)" || { echo "tansu is required and could not be installed" >&2; exit 1; }
	@test -x /usr/bin/chromium || { echo "installing chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x /usr/bin/chromium || { echo "/usr/bin/chromium is required (apt-get install chromium) and could not be installed" >&2; exit 1; }
	@command -v java >/dev/null || { echo "installing a Java runtime for the Nu HTML Checker"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }
	@command -v java >/dev/null || { echo "java (17 or later) is required (apt-get install default-jre-headless) and could not be installed" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "installing nodejs and npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@# --ignore-scripts: vnu-jar's install script would download a JRE when none is on PATH; Java
	@# comes from Debian above, and none of the packages needs a script to work.
	@node tests/browser/deps-installed.mjs || \
	  npm ci --prefix tests/browser --no-audit --no-fund --ignore-scripts

## Every test: unit, property and integration (real redis-server on free loopback ports; every
## page and partial through the Nu HTML Checker), then the browser tests.
test: test-deps
	@echo "tansu: $(TANSU)"
	cargo fmt --all -- --check
	cargo clippy -j$(CARGO_JOBS) --all-targets -- -D warnings
	@if cargo nextest --version >/dev/null 2>&1; then \
	  TANSU_BIN=$(TANSU) cargo nextest run -j$(CARGO_JOBS) --build-jobs $(CARGO_JOBS) --no-fail-fast; \
	else \
	  TANSU_BIN=$(TANSU) cargo test -j$(CARGO_JOBS) --no-fail-fast; \
	fi
	$(MAKE) test-browser

## The citizen pages in Debian's chromium (journeys with JS on and off, axe-core, screenshots in
## test-artifacts/). Builds the binary the tests start.
test-browser: test-deps
	cargo build -j$(CARGO_JOBS)
	cd tests/browser && node --test --test-concurrency=1

lint:
	cargo fmt --all -- --check
	cargo clippy -j$(CARGO_JOBS) --all-targets -- -D warnings

## Install what the benchmark needs when it is missing (hey, wrk, redis tools: Debian packages).
bench-deps: test-deps
	@missing=""; for tool in hey wrk redis-benchmark redis-cli python3; do \
	  command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hey wrk redis-tools python3 >/dev/null; fi

## Measure against this machine's ceilings (its own redis-server and release build on free
## loopback ports); writes bench/results.md, bench/results.svg and the README's figures.
bench: bench-deps
	cargo build --release -j$(CARGO_JOBS)
	python3 bench/bench.py

## The same loads against this checkout (or the revision NEW) and an earlier revision (BASE,
## default the commit before the issue-9 reshaping), side by side in one run: bench/compare.md
## and the README's figures.
BASE ?= 1fd8724
NEW ?=
bench-compare: bench-deps
	@if [ -z "$(NEW)" ]; then cargo build --release -j$(CARGO_JOBS); fi
	cd bench && BASE=$(BASE) NEW=$(NEW) CARGO_JOBS=$(CARGO_JOBS) python3 compare.py

## The seed's two README load tests, against a running server (`make run-seed` in another
## terminal, or set URL).
URL ?= http://127.0.0.1:3000
load-test:
	@command -v hey >/dev/null || { echo "hey is required: apt-get install hey" >&2; exit 1; }
	hey -c 50 -z 10s $(URL)/stations/PWTC
	hey -c 100 -z 5s -T "application/json" -m POST -d '{"address":"Kuala Lumpur","date":"20210516","firstName":"Fadhil","lastName":"Yaacob","location":"PWTC","mysejahteraId":"900127015527","phoneNumber":"0123456789"}' $(URL)/booking
