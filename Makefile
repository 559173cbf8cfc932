# cbk_token: the two commands are `make demo` and `make test`.

CC      ?= cc
CXX     ?= c++
PYTHON  ?= python3
BUILD   := build
WARN    := -Wall -Wextra -Wpedantic -Werror
CSTD    := -std=c99
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS  ?= -O1 -g
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

HEADER  := cbk_token.h
UNIT_SRC := tests/test_main.c tests/test_json.c tests/test_client.c tests/test_regress.c
UNIT_DEP := $(UNIT_SRC) tests/test.h tests/fake_transport.h $(HEADER)

.PHONY: all test unit checks demo clean format

all: unit checks

$(BUILD):
	@mkdir -p $(BUILD)

# The unit tests, under AddressSanitizer and UndefinedBehaviorSanitizer.
$(BUILD)/test_unit: $(UNIT_DEP) | $(BUILD)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(SAN) -I. $(UNIT_SRC) -o $@

unit: $(BUILD)/test_unit

# Builds the header must survive: C++, static, no libc, freestanding.
checks: $(BUILD)/check_cpp.o $(BUILD)/check_static.o $(BUILD)/check_nolibc.o

$(BUILD)/check_cpp.o: tests/check_compile.c $(HEADER) | $(BUILD)
	$(CXX) -x c++ -std=c++11 $(WARN) -I. -c tests/check_compile.c -o $@

$(BUILD)/check_static.o: tests/check_compile.c $(HEADER) | $(BUILD)
	$(CC) $(CSTD) $(WARN) -DCBK_TOKEN_STATIC -I. -c tests/check_compile.c -o $@

$(BUILD)/check_nolibc.o: tests/check_compile.c $(HEADER) | $(BUILD)
	$(CC) $(CSTD) $(WARN) -DCBK_TOKEN_NO_LIBC -ffreestanding -I. -c tests/check_compile.c -o $@

# libcurl's headers decide whether the adapter tests and the CLI can build
HAVE_CURL := $(shell printf '\043include <curl/curl.h>\n' | $(CC) $(CURL_CFLAGS) -E -x c - >/dev/null 2>&1 && echo 1)
TEST_DEPS := unit checks $(if $(HAVE_CURL),$(BUILD)/test_adapters examples/cbk-token)

test: $(TEST_DEPS)
	@sh tests/run_tests.sh

# The main job: the CLI against the bundled mock API (no account, no network).
demo: examples/cbk-token
	@sh tools/demo.sh

-include mk/*.mk

format:
	clang-format -i $(HEADER) tests/*.c tests/*.h $(wildcard adapters/*.h examples/*.c)

clean:
	rm -rf $(BUILD)
