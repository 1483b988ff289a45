# loendur — see README.md. `make run` and `make test` set up everything they need.
SHELL := /bin/bash
.DEFAULT_GOAL := build

CACHE        ?= $(HOME)/.cache/loendur
CHDB_VERSION := 26.7.3-stable.1
CHDB_LIB     := $(CACHE)/chdb-$(CHDB_VERSION)/libchdb.so
CH_DIR       ?= /tmp/loendur-clickhouse
CH_TCP_PORT  ?= 19000
CH_HTTP_PORT ?= 18123
CLUSTER_DIR  ?= /tmp/loendur-cluster
BIN          := bin/loendur
GO           ?= go

export CHDB_LIB_PATH := $(CHDB_LIB)
export LOENDUR_CH_DIR := $(CH_DIR)
export LOENDUR_CH_TCP_PORT := $(CH_TCP_PORT)
export LOENDUR_CH_HTTP_PORT := $(CH_HTTP_PORT)
export LOENDUR_CLUSTER_DIR := $(CLUSTER_DIR)

.PHONY: assets build run test bench bench-reports bench-import fuzz deps mailpit clickhouse-server chromium zookeeper clickhouse-start clickhouse-stop cluster-start cluster-stop generate vet lint clean

build: assets
	$(GO) build -o $(BIN) ./cmd/loendur

# Front-end assets: uPlot from npm (exact version in dashboard/web/package-lock.json),
# copied into dashboard/web/dist/, which the binary embeds.
WEB_DIST := dashboard/web/dist/uPlot.iife.min.js
# The second crawler list (crawler-user-agents from npm, exact version in
# internal/useragent/lists/package-lock.json), copied into internal/useragent/lists/dist/.
UA_LISTS := internal/useragent/lists/dist/crawler-patterns.json
assets: $(WEB_DIST) $(UA_LISTS)
$(WEB_DIST): dashboard/web/package.json dashboard/web/package-lock.json dashboard/web/build.mjs
	npm ci --prefix dashboard/web --no-audit --no-fund
	npm run --prefix dashboard/web --silent build
	@touch $@
$(UA_LISTS): internal/useragent/lists/package.json internal/useragent/lists/package-lock.json internal/useragent/lists/build.mjs
	npm ci --prefix internal/useragent/lists --no-audit --no-fund
	npm run --prefix internal/useragent/lists --silent build
	@touch $@

# A GA4 BigQuery export of BENCH_IMPORT_ROWS rows (generated once into
# $(CACHE)/bench-import) imported into the test ClickHouse server: time, rows/s and the
# process's peak resident memory (BENCHMARKS.md).
BENCH_IMPORT_ROWS ?= 10m
bench-import: clickhouse-start
	LOENDUR_TEST_CLICKHOUSE=127.0.0.1:$(CH_TCP_PORT) LOENDUR_BENCH_IMPORT_ROWS=$(BENCH_IMPORT_ROWS) LOENDUR_BENCH_DIR=$(CACHE)/bench-import \
	  $(GO) test -run '^$$' -bench ImportGA4 -benchtime 1x -timeout 4h ./internal/imports

# --- set-up -----------------------------------------------------------------
deps: $(CHDB_LIB) clickhouse-server chromium zookeeper mailpit

# Mailpit, the SMTP server the mail tests deliver to (they start it on loopback ports
# and read what arrived through its API), built from source at a pinned version.
MAILPIT_VERSION := v1.33.1
MAILPIT         := $(CACHE)/mailpit-$(MAILPIT_VERSION)/mailpit
export LOENDUR_TEST_MAILPIT := $(MAILPIT)
mailpit: $(MAILPIT)
$(MAILPIT):
	@mkdir -p $(dir $@)
	@echo "building Mailpit $(MAILPIT_VERSION) (about a minute, once) into $(dir $@)"
	GOBIN=$(dir $@) $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

$(CHDB_LIB):
	@mkdir -p $(dir $@)
	@echo "fetching libchdb $(CHDB_VERSION) from npm (about 180 MB, once) into $(dir $@)"
	cd $(dir $@) && npm pack --silent @chdb/lib-linux-x64-gnu@$(CHDB_VERSION) >/dev/null \
	  && tar xzf chdb-lib-linux-x64-gnu-$(CHDB_VERSION).tgz package/libchdb.so \
	  && mv package/libchdb.so libchdb.so.part && rmdir package \
	  && rm -f chdb-lib-linux-x64-gnu-$(CHDB_VERSION).tgz && mv libchdb.so.part libchdb.so

clickhouse-server:
	@command -v clickhouse-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null; }

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# ZooKeeper (Java) coordinates the local cluster's replicas.
zookeeper:
	@test -f /usr/share/java/zookeeper.jar || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zookeeper >/dev/null; }

clickhouse-start: clickhouse-server
	@.ci/clickhouse.sh start

clickhouse-stop:
	@.ci/clickhouse.sh stop

# The local cluster: ZooKeeper and 2 shards × 2 replicas of ClickHouse 18.16 on
# 127.0.0.1:19100–19199, data in $(CLUSTER_DIR) (internal/testenv/chcluster).
cluster-start: clickhouse-server zookeeper
	@.ci/clickhouse.sh cluster-start

cluster-stop:
	@.ci/clickhouse.sh cluster-stop

# --- commands ---------------------------------------------------------------
run: $(CHDB_LIB) build
	$(BIN) serve --db chdb://./data --site demo.localhost --demo

# The local cluster runs for this one run and is stopped and removed after it, passed or
# failed (the fault drills leave their database on it: see cmd/loendur/e2e/faults); so is
# the shared ClickHouse server, unless it was already running before. Browser tests keep
# their screenshots in testdata-out/screenshots/ (git-ignored) for a person to look at;
# run alone, they use the system's temporary folder. The run's temporary files (the
# shared chDB store each test process opens and cannot remove before it exits, browser
# profiles, Go's build folders) go to a folder of the run's own, removed after it.
test: deps clickhouse-server assets
	@ch_was_up=false; .ci/clickhouse.sh status >/dev/null 2>&1 && ch_was_up=true; \
	run_tmp=$$(mktemp -d /tmp/loendur-test-XXXXXX); \
	.ci/clickhouse.sh start && $(MAKE) --no-print-directory cluster-start && \
	  echo "go test -count=1 -timeout 15m ./..." && \
	  TMPDIR=$$run_tmp LOENDUR_SCREENSHOTS=$(CURDIR)/testdata-out/screenshots LOENDUR_TEST_CLICKHOUSE=127.0.0.1:$(CH_TCP_PORT) LOENDUR_TEST_CLUSTER_DIR=$(CLUSTER_DIR) \
	  $(GO) test -count=1 -timeout 15m ./...; status=$$?; \
	$(MAKE) --no-print-directory cluster-stop; rm -rf $(CLUSTER_DIR) $$run_tmp; \
	$$ch_was_up || .ci/clickhouse.sh stop; exit $$status

# --- benchmark (see BENCHMARKS.md) -------------------------------------------------
BENCH_ARGS ?=
bench: $(CHDB_LIB) clickhouse-start build
	.ci/bench.sh $(BENCH_ARGS)

# Every report over 10 and 100 million synthetic events on the embedded engine, each size
# loaded once into $(CACHE)/bench-reports-SIZE (reloaded when the schema changes); the
# Markdown table of p95s lands next to it, in bench-reports-SIZE.md. BENCH_REPORT_SIZES=10m
# runs one size; BENCH_REPORT_FILTER narrows the cases (a -bench pattern).
BENCH_REPORT_SIZES ?= 10m 100m
BENCH_REPORT_FILTER ?= Reports
bench-reports: $(CHDB_LIB)
	@for size in $(BENCH_REPORT_SIZES); do \
	  echo "== reports over $$size events"; \
	  LOENDUR_BENCH_EVENTS=$$size LOENDUR_BENCH_DIR=$(CACHE)/bench-reports-$$size \
	  LOENDUR_BENCH_MD=$(CACHE)/bench-reports-$$size.md \
	  $(GO) test -run '^$$' -bench '$(BENCH_REPORT_FILTER)' -benchtime 1x -timeout 8h ./dashboard/reports || exit 1; \
	done

# Each fuzz target for a bounded time (FUZZTIME, default 30s each).
FUZZTIME ?= 30s
fuzz:
	@for target in \
	  "./collector FuzzParsePayload" \
	  "./internal/pageurl FuzzParse" \
	  "./internal/pageurl FuzzUTM" \
	  "./internal/referrer FuzzParse" \
	  "./internal/useragent FuzzParse" \
	  "./internal/clientip FuzzClientIP" \
	  "./internal/spool FuzzOpenSegment" \
	  "./internal/acceptlog FuzzOpen" \
	  "./internal/spool FuzzDecodePayload" \
	  "./internal/eventcodec FuzzDecodeEvents"; do \
	  set -- $$target; echo "== $$1 $$2"; \
	  $(GO) test -run '^$$' -fuzz "^$$2$$" -fuzztime $(FUZZTIME) $$1 || exit 1; \
	done

vet:
	$(GO) vet ./...

# go vet, then staticcheck (pinned, built once into the cache).
STATICCHECK_VERSION := v0.8.2
STATICCHECK         := $(CACHE)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
$(STATICCHECK):
	@mkdir -p $(dir $@)
	GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: vet $(STATICCHECK)
	$(STATICCHECK) ./...

clean:
	rm -rf bin
