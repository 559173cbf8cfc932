# mk/bench-e2e.mk - `make bench-e2e`: cbk-token (the CLI as shipped), the library
# (bench/e2e/lib_driver.c: the curl adapter's defaults) and @chatbotkit/sdk 1.36.0 on the
# same jobs against the same local mock: list all of 10,000 tokens at take 100 over
# plain HTTP, TLS and TLS through a 40 ms round-trip proxy; the 10,000 as one stream;
# 100 creates then 100 deletes. A report, not a test: not part of `make test`; it fails
# only when something cannot run. The report goes to the terminal and to
# build/bench-e2e.md (bench/README.md has a table from one run).
#
# Included by the top-level Makefile from the repository root (CC, BUILD, CURL_CFLAGS,
# CURL_LIBS). Names defined here start with BENCH_E2E_.
#
#   make bench-e2e                       5 interleaved rounds (about 4 minutes on 2 cores)
#   make bench-e2e BENCH_E2E_ROUNDS=3    fewer rounds
#   make bench-e2e BENCH_E2E_ONLY=list-tls-40ms,stream   some scenarios only
#
# Needs node (20+), npm and the npm registry (the SDK is installed into
# build/bench-e2e/node_modules from bench/e2e/package-lock.json with `npm ci`, once),
# openssl, python3, libcurl development files.

BENCH_E2E_DIR := $(or $(BUILD),build)/bench-e2e
BENCH_E2E_ROUNDS ?= 5
BENCH_E2E_ONLY ?= list-http,list-tls,list-tls-40ms,stream,churn
BENCH_E2E_PYTHON := $(or $(PYTHON),python3)
BENCH_E2E_CFLAGS := -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror

.PHONY: bench-e2e bench-e2e-sdk

$(BENCH_E2E_DIR)/lib_driver: bench/e2e/lib_driver.c cbk_token.h adapters/cbk_token_curl.h
	@mkdir -p $(BENCH_E2E_DIR)
	$(CC) $(BENCH_E2E_CFLAGS) -I. $(CURL_CFLAGS) bench/e2e/lib_driver.c -o $@ $(CURL_LIBS)

$(BENCH_E2E_DIR)/measure: bench/e2e/measure.c
	@mkdir -p $(BENCH_E2E_DIR)
	$(CC) $(BENCH_E2E_CFLAGS) bench/e2e/measure.c -o $@

# The SDK, once (again when the lock file changes).
$(BENCH_E2E_DIR)/node_modules/.package-lock.json: bench/e2e/package.json bench/e2e/package-lock.json
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || \
	  { echo "bench-e2e: node and npm are needed (Node.js 20 or newer)"; exit 1; }
	@mkdir -p $(BENCH_E2E_DIR)
	cp bench/e2e/package.json bench/e2e/package-lock.json $(BENCH_E2E_DIR)/
	cd $(BENCH_E2E_DIR) && npm ci --no-audit --no-fund --loglevel=error

bench-e2e-sdk: $(BENCH_E2E_DIR)/node_modules/.package-lock.json

bench-e2e: examples/cbk-token $(BENCH_E2E_DIR)/lib_driver $(BENCH_E2E_DIR)/measure bench-e2e-sdk
	@command -v openssl >/dev/null 2>&1 || { echo "bench-e2e: openssl is needed"; exit 1; }
	$(BENCH_E2E_PYTHON) bench/e2e/run.py --rounds $(BENCH_E2E_ROUNDS) --out $(BENCH_E2E_DIR) \
		--only $(BENCH_E2E_ONLY)
