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
#
#   make install        the cbk-token CLI to $(DESTDIR)$(BINDIR) and its man
#                       page to $(DESTDIR)$(MANDIR)/man1 (PREFIX=/usr/local,
#                       BINDIR=$(PREFIX)/bin, MANDIR=$(PREFIX)/share/man).
#                       The library is a header: vendor it, or use
#                       cmake --install for headers, CMake and pkg-config files.
#   make uninstall      removes what make install put there

PACKAGING_BUILD := $(or $(BUILD),build)
PACKAGING_CC := $(or $(CC),cc)
PACKAGING_CXX := $(or $(CXX),c++)
PACKAGING_CLANG_TIDY ?= clang-tidy
PACKAGING_CPPCHECK ?= cppcheck
PACKAGING_CLANG_FORMAT ?= clang-format
PACKAGING_CURL_CFLAGS := $(or $(CURL_CFLAGS),$(shell pkg-config --cflags libcurl 2>/dev/null))
# libcurl's development files: the includer's HAVE_CURL when it has one.
# Without them clang-tidy cannot read the curl adapter: that part is skipped
# (a failure under CI) and the rest is checked with CBK_LINT_NO_CURL.
PACKAGING_HAVE_CURL := $(if $(filter undefined,$(origin HAVE_CURL)),1,$(HAVE_CURL))
PACKAGING_REQUIRE_ALL := $(if $(filter true,$(CI))$(filter 1,$(CBK_REQUIRE_ALL)),1)
PACKAGING_TIDY_DEFS := $(if $(PACKAGING_HAVE_CURL),,-DCBK_LINT_NO_CURL -DCBK_CLI_NO_CURL)

# clang-tidy, one file at a time (so each file's directory .clang-tidy
# applies): the lint TU holds the library and the adapters; the programs
# bring their own config (see examples/.clang-tidy), which leaves the
# headers' findings to the lint TU, except the analyzer's paths that start in
# a program and run into the header.
PACKAGING_TIDY_SRC := tests/lint_all.c examples/dropin/main.c examples/cbk-token.c \
	tests/consumer/main.c tests/consumer/impl.c $(if $(PACKAGING_HAVE_CURL),tests/consumer/curl.c)

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

.PHONY: consumer-test examples lint lint-tidy lint-cppcheck lint-format install uninstall

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

install: examples/cbk-token
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(MANDIR)/man1'
	install -m 755 examples/cbk-token '$(DESTDIR)$(BINDIR)/cbk-token'
	install -m 644 docs/cbk-token.1 '$(DESTDIR)$(MANDIR)/man1/cbk-token.1'

uninstall:
	rm -f '$(DESTDIR)$(BINDIR)/cbk-token' '$(DESTDIR)$(MANDIR)/man1/cbk-token.1'

consumer-test:
	@BUILD=$(PACKAGING_BUILD) CC="$(PACKAGING_CC)" sh tests/consumer/run.sh

examples:
	@BUILD=$(PACKAGING_BUILD) CC="$(PACKAGING_CC)" CXX="$(PACKAGING_CXX)" sh tests/examples.sh

# The three run one after another even when one fails (make -k is not
# needed), so one run shows every finding.
lint:
	@mkdir -p $(PACKAGING_BUILD); p=0; f=0; k=0; \
	for t in lint-tidy lint-cppcheck lint-format $(LINT_EXTRA); do \
	  if $(MAKE) --no-print-directory $$t >$(PACKAGING_BUILD)/lint-part.log 2>&1; \
	  then p=$$((p + 1)); else f=$$((f + 1)); fi; \
	  cat $(PACKAGING_BUILD)/lint-part.log; \
	  tail -n 1 $(PACKAGING_BUILD)/lint-part.log | grep -q ' skipped$$' && k=$$((k + 1)); \
	done; \
	if [ $$k -gt 0 ]; then echo "lint: $$p passed, $$f failed, $$k skipped"; \
	else echo "lint: $$p passed, $$f failed"; fi; \
	[ $$f -eq 0 ]

lint-tidy:
	@command -v $(PACKAGING_CLANG_TIDY) >/dev/null || \
	  { echo "lint-tidy: $(PACKAGING_CLANG_TIDY) not found (apt-get install clang-tidy)"; exit 1; }
	@echo "== clang-tidy $$($(PACKAGING_CLANG_TIDY) --version | sed -n 's/.*version //p' | head -n 1)"
	@mkdir -p $(PACKAGING_BUILD)
	@rc=0; for f in $(PACKAGING_TIDY_SRC); do \
	  echo "-- $$f"; \
	  $(PACKAGING_CLANG_TIDY) --quiet $$f -- -std=c99 -I. $(PACKAGING_CURL_CFLAGS) \
	    $(PACKAGING_TIDY_DEFS) >$(PACKAGING_BUILD)/lint-tidy.log 2>&1 || rc=1; \
	  grep -v ' warnings\? generated\.$$' $(PACKAGING_BUILD)/lint-tidy.log; \
	  done; \
	  skip=$(if $(PACKAGING_HAVE_CURL),0,1); \
	  if [ $$skip = 1 ]; then \
	    echo "SKIP clang-tidy on adapters/cbk_token_curl.h and tests/consumer/curl.c:" \
	      "libcurl development files not found (apt-get install libcurl4-openssl-dev)"; \
	    if [ "$(PACKAGING_REQUIRE_ALL)" = 1 ]; then echo "FAIL: skipped under CI"; rc=1; skip=0; fi; \
	  fi; \
	  if [ $$rc != 0 ]; then echo "lint-tidy: 0 passed, 1 failed"; exit 1; \
	  elif [ $$skip = 1 ]; then echo "lint-tidy: 1 passed, 0 failed, 1 skipped"; \
	  else echo "lint-tidy: 1 passed, 0 failed"; fi

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
