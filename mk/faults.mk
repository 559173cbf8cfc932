# mk/faults.mk - faults, retries and security, end to end (tests/test_faults.c).
#
# Included by the top-level Makefile (`-include mk/*.mk`), which defines CC,
# BUILD, WARN, CSTD, SAN, CFLAGS, CURL_CFLAGS, CURL_LIBS and HAVE_CURL.
#
#   make check-faults   builds build/test_faults (ASan+UBSan) and the CLI, runs it
#                       (it starts and stops tests/mock_api.py and
#                       tests/tls_front.py itself; needs python3, libcurl, and
#                       openssl for the TLS cases)
#
# `make test` builds build/test_faults too when libcurl is there; running it is
# a line in tests/run_tests.sh.

FAULTS_DEPS := tests/test_faults.c tests/loopback.h cbk_token.h adapters/cbk_token_curl.h \
	adapters/cbk_token_posix.h adapters/cbk_token_http1.h

$(BUILD)/test_faults: $(FAULTS_DEPS) | $(BUILD)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(SAN) -I. $(CURL_CFLAGS) tests/test_faults.c -o $@ \
		$(CURL_LIBS)

check-faults: $(BUILD)/test_faults examples/cbk-token
	./$(BUILD)/test_faults

ifneq ($(HAVE_CURL),)
test: $(BUILD)/test_faults
endif

.PHONY: check-faults
