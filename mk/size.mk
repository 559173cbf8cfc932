# mk/size.mk - tests of the size options (issue 12).
#
# Included by the top-level Makefile from the repository root; uses CC,
# BUILD, CSTD, WARN and SAN when it defines them. Names defined here start
# with SIZE_.
#
#   make test-nomsg   tests/test_nomsg.c: the library built with
#                     CBK_TOKEN_NO_MESSAGES (same results and codes, no
#                     texts of its own), under ASan+UBSan; skipped with the
#                     reason while cbk_token.h has no such option

SIZE_BUILD := $(or $(BUILD),build)
SIZE_CC := $(or $(CC),cc)
SIZE_FLAGS := $(or $(CSTD),-std=c99) $(or $(WARN),-Wall -Wextra -Wpedantic -Werror) -O1 -g \
	$(or $(SAN),-fsanitize=address,undefined -fno-sanitize-recover=all)

.PHONY: test-nomsg

$(SIZE_BUILD)/test_nomsg: tests/test_nomsg.c tests/fake_transport.h tests/test.h cbk_token.h
	@mkdir -p $(SIZE_BUILD)
	$(SIZE_CC) $(SIZE_FLAGS) -I. tests/test_nomsg.c -o $@

test-nomsg:
	@if grep -q 'CBK_TOKEN_NO_MESSAGES' cbk_token.h; then \
	  $(MAKE) --no-print-directory -s $(SIZE_BUILD)/test_nomsg && (cd tests && ../$(SIZE_BUILD)/test_nomsg); \
	else echo "test-nomsg: SKIPPED (cbk_token.h has no CBK_TOKEN_NO_MESSAGES yet)"; fi
