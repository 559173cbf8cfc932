# cbk_token: the two commands are `make demo` and `make test`; `make check`
# is the fast subset for the edit loop.
#
# WITHOUT="curl node cross qemu lint ..." (or CBK_WITHOUT in the environment)
# hides optional tools from every detection, the way a fresh machine lacks
# them: the parts that need them are skipped with their reason and counted
# (tools/without.sh says what each word hides). `make test WITHOUT=curl`
# builds the CLI over the POSIX transport, as on a machine without libcurl's
# development files.

CC      ?= cc
CXX     ?= c++
PYTHON  ?= python3
BUILD   := build
WARN    := -Wall -Wextra -Wpedantic -Werror
CSTD    := -std=c99
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS  ?= -O1 -g

WITHOUT ?= $(CBK_WITHOUT)
ifneq ($(strip $(WITHOUT)),)
ifneq ($(CBK_WITHOUT_APPLIED),$(strip $(WITHOUT)))
# recipes see the PATH below; $(shell) does not (GNU make < 4.4), so the
# probes in this file run with PROBE_ENV. A make run by a recipe inherits
# the PATH (and CBK_WITHOUT_APPLIED says so).
WITHOUT_PATH := $(shell sh tools/without.sh '$(BUILD)/without' $(WITHOUT))
export PATH := $(WITHOUT_PATH)
export CBK_WITHOUT_APPLIED := $(strip $(WITHOUT))
PROBE_ENV := PATH='$(WITHOUT_PATH)'; export PATH;
endif
export CBK_WITHOUT := $(strip $(WITHOUT))
endif

CURL_CFLAGS := $(shell $(PROBE_ENV) pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   := $(shell $(PROBE_ENV) pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

HEADER  := cbk_token.h
UNIT_SRC := tests/test_main.c tests/test_json.c tests/test_client.c tests/test_regress.c
UNIT_DEP := $(UNIT_SRC) tests/test.h tests/fake_transport.h $(HEADER)

.PHONY: all test check unit checks demo clean format

all: unit checks

$(BUILD):
	@mkdir -p $(BUILD)

# The unit tests, under AddressSanitizer and UndefinedBehaviorSanitizer.
$(BUILD)/test_unit: $(UNIT_DEP) | $(BUILD)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(SAN) -I. $(UNIT_SRC) -o $@

# The same with the scans a byte at a time, as on Cortex-M0+ (CBK_TOKEN_BYTE_SCAN).
$(BUILD)/test_unit_bytes: $(UNIT_DEP) | $(BUILD)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(SAN) -DCBK_TOKEN_BYTE_SCAN -I. $(UNIT_SRC) -o $@

unit: $(BUILD)/test_unit $(BUILD)/test_unit_bytes

# Builds the header must survive: C++, static, no libc, freestanding.
checks: $(BUILD)/check_cpp.o $(BUILD)/check_static.o $(BUILD)/check_nolibc.o

$(BUILD)/check_cpp.o: tests/check_compile.c $(HEADER) | $(BUILD)
	$(CXX) -x c++ -std=c++11 $(WARN) -I. -c tests/check_compile.c -o $@

$(BUILD)/check_static.o: tests/check_compile.c $(HEADER) | $(BUILD)
	$(CC) $(CSTD) $(WARN) -DCBK_TOKEN_STATIC -I. -c tests/check_compile.c -o $@

$(BUILD)/check_nolibc.o: tests/check_compile.c $(HEADER) | $(BUILD)
	$(CC) $(CSTD) $(WARN) -DCBK_TOKEN_NO_LIBC -ffreestanding -I. -c tests/check_compile.c -o $@

# libcurl's headers decide whether the adapters' test has its curl half and
# the CLI its curl transport: they must be there, and pkg-config (when there is
# one) must know libcurl. Without them the CLI is built over the POSIX
# transport alone (-DCBK_CLI_NO_CURL).
HAVE_CURL := $(if $(filter curl,$(WITHOUT)),,$(shell \
	{ $(PROBE_ENV) ! command -v pkg-config >/dev/null || pkg-config --exists libcurl; } && \
	printf '\043include <curl/curl.h>\n' | $(CC) $(CURL_CFLAGS) -E -x c - >/dev/null 2>&1 && echo 1))
# build/test_adapters leaves its curl half out without libcurl (mk/adapters.mk)
TEST_DEPS := unit checks examples/cbk-token $(BUILD)/test_adapters
# tests/run_tests.sh asks this, not the build directory (which may hold
# binaries from a build with other tools)
export CBK_HAVE_CURL := $(if $(HAVE_CURL),1,0)

test: $(TEST_DEPS)
	@sh tests/run_tests.sh

# The fast subset for the edit loop (about a minute): the unit tests, the
# header builds, the mock's self-test, the HTTP/1.1 engine, both adapters on
# loopback, the CLI's tests, README's code, and the SDK conformance when
# node is there. Its binaries are built two at a time.
check:
	@$(MAKE) --no-print-directory -j2 $(TEST_DEPS) $(CHECK_DEPS)
	@sh tests/run_tests.sh --quick

# The main job: the CLI against the bundled mock API (no account, no network).
demo: examples/cbk-token
	@sh tools/demo.sh

-include mk/*.mk

# make check runs the HTTP/1.1 engine's test too (mk/http1.mk builds it for test)
CHECK_DEPS := $(if $(wildcard tests/test_http1.c),$(BUILD)/test_http1)

format:
	clang-format -i $(HEADER) tests/*.c tests/*.h $(wildcard adapters/*.h examples/*.c)

clean:
	rm -rf $(BUILD)
