# mk/http1.mk - the HTTP/1.1 engine and the POSIX adapter on it (tests/test_http1.c).
#
# Included by the top-level Makefile (`-include mk/*.mk`), which defines CC,
# CXX, BUILD, WARN, CSTD, SAN and CFLAGS.
#
#   make http1-test   builds build/test_http1 (ASan+UBSan) and runs it: the
#                     engine over a scripted in-memory io (every framing case
#                     split at every byte, keep-alive, reconnects, the
#                     duplicate-create cases, the deadline, buffer wiping),
#                     then the POSIX adapter against tests/mock_api.py and
#                     tests/hostile_http.py, which it starts and stops itself
#                     (needs python3)
#   make http1-checks the engine built as C++11, with CBK_TOKEN_STATIC, and
#                     freestanding with CBK_TOKEN_NO_LIBC
#
# `make test` builds both; running the test is a line in tests/run_tests.sh.

HTTP1_DEPS := tests/test_http1.c tests/test.h cbk_token.h adapters/cbk_token_http1.h \
	adapters/cbk_token_posix.h tests/hostile_http.py
HTTP1_CHECK_SRC := $(BUILD)/check_http1.c

$(BUILD)/test_http1: $(HTTP1_DEPS) | $(BUILD)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(SAN) -I. tests/test_http1.c -o $@

$(HTTP1_CHECK_SRC): adapters/cbk_token_http1.h | $(BUILD)
	@printf '%s\n' '#define CBK_TOKEN_IMPLEMENTATION' '#include "cbk_token.h"' \
	    '#define CBK_TOKEN_HTTP1_IMPLEMENTATION' '#include "adapters/cbk_token_http1.h"' >$@

$(BUILD)/check_http1_cpp.o: $(HTTP1_CHECK_SRC) cbk_token.h
	$(CXX) -x c++ -std=c++11 $(WARN) -I. -c $< -o $@
$(BUILD)/check_http1_static.o: $(HTTP1_CHECK_SRC) cbk_token.h
	$(CC) $(CSTD) $(WARN) -DCBK_TOKEN_STATIC -I. -c $< -o $@
$(BUILD)/check_http1_nolibc.o: $(HTTP1_CHECK_SRC) cbk_token.h
	$(CC) $(CSTD) $(WARN) -DCBK_TOKEN_NO_LIBC -ffreestanding -I. -c $< -o $@

http1-checks: $(BUILD)/check_http1_cpp.o $(BUILD)/check_http1_static.o \
	$(BUILD)/check_http1_nolibc.o

http1-test: $(BUILD)/test_http1 http1-checks
	./$(BUILD)/test_http1

test: $(BUILD)/test_http1 http1-checks

.PHONY: http1-test http1-checks
