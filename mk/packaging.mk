# mk/packaging.mk - packaging checks, static analysis and the examples.
#
# Included by the top-level Makefile from the repository root. Uses CC, CXX
# and BUILD when the includer defines them. Names defined here start with
# PACKAGING_ so they cannot clash with the includer's.
#
#   make consumer-test  a throwaway consumer project built against cbk_token
#                       three ways and run: CMake add_subdirectory(), CMake
#                       find_package() after `cmake --install --prefix
#                       $(BUILD)/prefix`, and pkg-config with PKG_CONFIG_PATH
#                       at that prefix (tests/consumer/run.sh; needs cmake,
#                       pkg-config, libcurl's development files)
#   make examples       builds and runs every example that runs offline:
#                       examples/dropin (canned bytes, sans-I/O) and the
#                       cbk-token CLI against tests/mock_api.py on loopback
#                       (tests/examples.sh; needs python3, libcurl)
#   make lint           lint-tidy, lint-cppcheck and lint-format, all of
#                       which must be clean:
#     lint-tidy         clang-tidy (.clang-tidy) on tests/lint_all.c (the
#                       header and both adapters, implementations included)
#                       and on the example and consumer programs
#     lint-cppcheck     cppcheck --enable=warning,portability,performance
#     lint-format       clang-format --dry-run --Werror on every .c/.h file
#     $(LINT_EXTRA)     what other mk/*.mk files add (mk/lint.mk: lint-size,
#                       lint-complexity)
#
# Each prints one closing line "NAME: N passed, M failed" (the format
# tests/run_tests.sh adds up) and fails when M > 0.

PACKAGING_BUILD := $(or $(BUILD),build)
PACKAGING_CC := $(or $(CC),cc)
PACKAGING_CXX := $(or $(CXX),c++)
PACKAGING_CLANG_TIDY ?= clang-tidy
PACKAGING_CPPCHECK ?= cppcheck
PACKAGING_CLANG_FORMAT ?= clang-format
PACKAGING_CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)

# clang-tidy, one file at a time (so each file's directory .clang-tidy
# applies): the lint TU holds the library and the adapters; the programs
# bring their own config (see examples/.clang-tidy), which leaves the
# headers' findings to the lint TU, except the analyzer's paths that start in
# a program and run into the header.
PACKAGING_TIDY_SRC := tests/lint_all.c examples/dropin/main.c examples/cbk-token.c \
	tests/consumer/main.c tests/consumer/impl.c tests/consumer/curl.c

# cppcheck: the same code; each file that compiles the implementation costs
# about ten seconds, so the consumer's impl.c/curl.c (covered by lint_all.c)
# are left out. No suppression is needed today: add one only as
# --suppress=ID:FILE:LINE with a comment here saying why.
PACKAGING_CPPCHECK_SRC := tests/lint_all.c examples/dropin/main.c examples/cbk-token.c \
	tests/consumer/main.c
PACKAGING_CPPCHECK_FLAGS := --enable=warning,portability,performance --std=c99 \
	--library=posix --inline-suppr --error-exitcode=1 --quiet -I.

# clang-format: every C source and header the repository tracks (git's
# index, so work in progress that is not added yet does not count); outside
# a git checkout, every one found.
PACKAGING_FORMAT_SRC = $(shell git ls-files '*.c' '*.h' '*.cpp' 2>/dev/null | grep . || \
	find . \( -path ./.git -o -path ./$(PACKAGING_BUILD) -o -name node_modules \) -prune \
	-o \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -type f -print | sort)

.PHONY: consumer-test examples lint lint-tidy lint-cppcheck lint-format

consumer-test:
	@BUILD=$(PACKAGING_BUILD) CC="$(PACKAGING_CC)" sh tests/consumer/run.sh

examples:
	@BUILD=$(PACKAGING_BUILD) CC="$(PACKAGING_CC)" CXX="$(PACKAGING_CXX)" sh tests/examples.sh

# The three run one after another even when one fails (make -k is not
# needed), so one run shows every finding.
lint:
	@p=0; f=0; \
	for t in lint-tidy lint-cppcheck lint-format $(LINT_EXTRA); do \
	  if $(MAKE) --no-print-directory $$t; then p=$$((p + 1)); else f=$$((f + 1)); fi; \
	done; \
	echo "lint: $$p passed, $$f failed"; \
	[ $$f -eq 0 ]

lint-tidy:
	@command -v $(PACKAGING_CLANG_TIDY) >/dev/null || \
	  { echo "lint-tidy: $(PACKAGING_CLANG_TIDY) not found (apt-get install clang-tidy)"; exit 1; }
	@echo "== clang-tidy $$($(PACKAGING_CLANG_TIDY) --version | sed -n 's/.*version //p' | head -n 1)"
	@mkdir -p $(PACKAGING_BUILD)
	@rc=0; for f in $(PACKAGING_TIDY_SRC); do \
	  echo "-- $$f"; \
	  $(PACKAGING_CLANG_TIDY) --quiet $$f -- -std=c99 -I. $(PACKAGING_CURL_CFLAGS) \
	    >$(PACKAGING_BUILD)/lint-tidy.log 2>&1 || rc=1; \
	  grep -v ' warnings\? generated\.$$' $(PACKAGING_BUILD)/lint-tidy.log; \
	  done; \
	  if [ $$rc = 0 ]; then echo "lint-tidy: 1 passed, 0 failed"; \
	  else echo "lint-tidy: 0 passed, 1 failed"; exit 1; fi

lint-cppcheck:
	@command -v $(PACKAGING_CPPCHECK) >/dev/null || \
	  { echo "lint-cppcheck: $(PACKAGING_CPPCHECK) not found (apt-get install cppcheck)"; exit 1; }
	@echo "== $$($(PACKAGING_CPPCHECK) --version)"
	@$(PACKAGING_CPPCHECK) $(PACKAGING_CPPCHECK_FLAGS) $(PACKAGING_CPPCHECK_SRC) && \
	  echo "lint-cppcheck: 1 passed, 0 failed" || \
	  { echo "lint-cppcheck: 0 passed, 1 failed"; exit 1; }

lint-format:
	@command -v $(PACKAGING_CLANG_FORMAT) >/dev/null || \
	  { echo "lint-format: $(PACKAGING_CLANG_FORMAT) not found (apt-get install clang-format)"; exit 1; }
	@echo "== $$($(PACKAGING_CLANG_FORMAT) --version)"
	@$(PACKAGING_CLANG_FORMAT) --dry-run --Werror $(PACKAGING_FORMAT_SRC) && \
	  echo "lint-format: 1 passed, 0 failed" || \
	  { echo "lint-format: 0 passed, 1 failed"; exit 1; }
