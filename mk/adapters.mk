# mk/adapters.mk - the adapters' test and the cbk-token CLI.
#
# Included by the top-level Makefile from the repository root. Uses CC,
# CFLAGS, CPPFLAGS, LDFLAGS, and CSTD/WARN/BUILD when the includer defines
# them (else -std=c99, the strict warnings, and build/). Names defined here
# start with ADAPTERS_ so they cannot clash with the includer's.
#
#   make examples/cbk-token   the CLI, with the curl and the POSIX adapters
#                             (the POSIX one alone, -DCBK_CLI_NO_CURL, when
#                             the includer's HAVE_CURL is empty)
#   make check-adapters       both adapters against tests/mock_api.py (the
#                             test starts and stops the mocks itself;
#                             needs python3); without libcurl (the
#                             includer's HAVE_CURL empty) it is built with
#                             -DCBK_TEST_NO_CURL: the POSIX half alone, the
#                             curl half counted as a skip

ADAPTERS_STD := $(or $(CSTD),-std=c99)
ADAPTERS_WARN := $(or $(WARN),-Wall -Wextra -Wpedantic -Werror)
ADAPTERS_BUILD := $(or $(BUILD),build)

# libcurl: the includer's flags, else pkg-config when it knows libcurl, else
# plain -lcurl.
ADAPTERS_CURL_CFLAGS := $(or $(CURL_CFLAGS),$(shell pkg-config --cflags libcurl 2>/dev/null))
ADAPTERS_CURL_LIBS := $(or $(CURL_LIBS),$(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl))
# libcurl is there unless the includer found none (HAVE_CURL defined and
# empty). The CLI's transports: both, else the POSIX one alone. The
# adapters' test: both halves, else the POSIX half alone.
ADAPTERS_HAVE_CURL := $(if $(filter undefined,$(origin HAVE_CURL)),1,$(HAVE_CURL))
ADAPTERS_CLI_FLAGS := $(if $(ADAPTERS_HAVE_CURL),$(ADAPTERS_CURL_CFLAGS),-DCBK_CLI_NO_CURL)
ADAPTERS_CLI_LIBS := $(if $(ADAPTERS_HAVE_CURL),$(ADAPTERS_CURL_LIBS))
ADAPTERS_TEST_FLAGS := $(if $(ADAPTERS_HAVE_CURL),$(ADAPTERS_CURL_CFLAGS),-DCBK_TEST_NO_CURL)
ADAPTERS_TEST_LIBS := $(if $(ADAPTERS_HAVE_CURL),$(ADAPTERS_CURL_LIBS))

ADAPTERS_HEADERS := cbk_token.h adapters/cbk_token_curl.h adapters/cbk_token_posix.h \
	adapters/cbk_token_http1.h
ADAPTERS_CC = $(CC) $(ADAPTERS_STD) $(ADAPTERS_WARN) $(CPPFLAGS) $(CFLAGS) -I.

# The flags the CLI and the test were last built with: a build with other
# flags (WITHOUT=curl and back) rebuilds them.
$(ADAPTERS_BUILD)/cbk-token.flags: FORCE
	@mkdir -p $(ADAPTERS_BUILD)
	@echo '$(ADAPTERS_CLI_FLAGS) $(ADAPTERS_CLI_LIBS)' | cmp -s - $@ || \
	  echo '$(ADAPTERS_CLI_FLAGS) $(ADAPTERS_CLI_LIBS)' >$@
$(ADAPTERS_BUILD)/test_adapters.flags: FORCE
	@mkdir -p $(ADAPTERS_BUILD)
	@echo '$(ADAPTERS_TEST_FLAGS) $(ADAPTERS_TEST_LIBS)' | cmp -s - $@ || \
	  echo '$(ADAPTERS_TEST_FLAGS) $(ADAPTERS_TEST_LIBS)' >$@

examples/cbk-token: examples/cbk-token.c $(ADAPTERS_HEADERS) $(ADAPTERS_BUILD)/cbk-token.flags
	$(CC) $(ADAPTERS_STD) $(ADAPTERS_WARN) $(CPPFLAGS) $(CFLAGS) -I. $(ADAPTERS_CLI_FLAGS) \
		-o $@ examples/cbk-token.c $(LDFLAGS) $(ADAPTERS_CLI_LIBS)

$(ADAPTERS_BUILD)/test_adapters: tests/test_adapters.c tests/loopback.h tests/cases.h $(ADAPTERS_HEADERS) \
	$(ADAPTERS_BUILD)/test_adapters.flags
	@mkdir -p $(ADAPTERS_BUILD)
	$(ADAPTERS_CC) $(ADAPTERS_TEST_FLAGS) -o $@ tests/test_adapters.c $(LDFLAGS) $(ADAPTERS_TEST_LIBS)

check-adapters: $(ADAPTERS_BUILD)/test_adapters
	./$(ADAPTERS_BUILD)/test_adapters

.PHONY: check-adapters FORCE
FORCE:
