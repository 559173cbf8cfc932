# embedded: the lwIP and mbedTLS adapters run for real, examples/embedded, Cortex-M4 sizes
#
#   make embedded-test      build/test_lwip: lwIP in the test process on a TAP device in a
#                           network namespace it creates, plain and mbedTLS (root, Linux)
#   make embedded-example   examples/embedded on the host through the same TAP setup
#   make embedded-cross     the library, engine and adapters for Cortex-M4 -Os with
#                           arm-none-eabi-gcc (lwIP and mbedTLS headers only); sizes
#   make embedded-why       prints why this machine cannot run them (nothing when it can)
#
# Debian: apt-get install liblwip-dev libmbedtls-dev gcc-arm-none-eabi libnewlib-arm-none-eabi
# iproute2 openssl python3.

LWIP_CFLAGS  ?= $(shell pkg-config --cflags lwip 2>/dev/null || echo -I/usr/include/lwip)
LWIP_LIBS    ?= -llwip
MBEDTLS_LIBS ?= -lmbedtls -lmbedx509 -lmbedcrypto
ARM_CC       ?= arm-none-eabi-gcc
ARM_SIZE     ?= arm-none-eabi-size
EMB_DEPS := cbk_token.h adapters/cbk_token_http1.h adapters/cbk_token_mbedtls.h \
            adapters/cbk_token_lwip.h tests/lwip/netns.h
EMB_LINK := $(LWIP_LIBS) $(MBEDTLS_LIBS)

.PHONY: embedded-test embedded-example embedded-cross embedded-why

embedded-why:
	@printf '#include "lwip/sockets.h"\n#include "netif/tapif.h"\n' | \
	    $(CC) $(LWIP_CFLAGS) -E -x c - >/dev/null 2>&1 || \
	    { echo "lwIP headers not found (apt-get install liblwip-dev)"; exit 0; }; \
	printf '#include "mbedtls/ssl.h"\n' | $(CC) -E -x c - >/dev/null 2>&1 || \
	    { echo "mbedTLS headers not found (apt-get install libmbedtls-dev)"; exit 0; }; \
	[ "$$(id -u)" = 0 ] || { echo "needs root (network namespaces, TAP devices)"; exit 0; }; \
	[ -w /dev/net/tun ] || { echo "no /dev/net/tun (modprobe tun)"; exit 0; }; \
	command -v ip >/dev/null || { echo "ip not found (apt-get install iproute2)"; exit 0; }; \
	command -v openssl >/dev/null || { echo "openssl not found"; exit 0; }; \
	command -v python3 >/dev/null || { echo "python3 not found"; exit 0; }; \
	command -v $(ARM_CC) >/dev/null || \
	    { echo "$(ARM_CC) not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"; exit 0; }

$(BUILD)/test_lwip: tests/lwip/test_lwip.c $(EMB_DEPS) | $(BUILD)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(SAN) -I. $(LWIP_CFLAGS) $< $(EMB_LINK) -o $@

embedded-test: $(BUILD)/test_lwip
	@$(BUILD)/test_lwip

# the host board: Debian's lwIP arch/cc.h wants glibc's POSIX declarations (SSIZE_MAX)
EMB_EX_SRC := examples/embedded/main.c examples/embedded/cbk_embedded.c \
              examples/embedded/net_lwip_mbedtls.c examples/embedded/host.c

$(BUILD)/embedded_host: $(EMB_EX_SRC) examples/embedded/cbk_embedded.h $(EMB_DEPS) | $(BUILD)
	$(CC) $(CSTD) $(WARN) $(CFLAGS) $(SAN) -D_GNU_SOURCE -I. $(LWIP_CFLAGS) $(EMB_EX_SRC) \
	    $(EMB_LINK) -o $@

embedded-example: $(BUILD)/embedded_host
	@sh tests/lwip/run_example.sh
