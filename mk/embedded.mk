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
ARM_NM       ?= arm-none-eabi-nm
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

# Cortex-M4: each part compiled alone (-Os, sections), lwIP's and mbedTLS's headers only (a
# firmware-shaped lwipopts.h and mbedTLS configuration in tests/lwip/cm4); sizes per object
EMB_CM4_DIR := $(BUILD)/cm4
EMB_CM4_CC = $(ARM_CC) -mcpu=cortex-m4 -mthumb -Os -std=c99 -ffunction-sections -fdata-sections \
    $(WARN) -I. -Itests/lwip/cm4 -isystem $(EMB_CM4_DIR)/inc \
    -DMBEDTLS_USER_CONFIG_FILE='"mbedtls_user.h"'
EMB_CM4_PARTS := library engine mbedtls_adapter lwip_adapter example_net

embedded-cross: $(EMB_DEPS) examples/embedded/net_lwip_mbedtls.c
	@mkdir -p $(EMB_CM4_DIR)/inc/lwip-core $(EMB_CM4_DIR)/inc
	@ln -sfn /usr/include/mbedtls $(EMB_CM4_DIR)/inc/mbedtls
	@for d in lwip netif compat; do ln -sfn /usr/include/lwip/$$d $(EMB_CM4_DIR)/inc/$$d; done
	@printf '#define CBK_TOKEN_IMPLEMENTATION\n#include "cbk_token.h"\n' >$(EMB_CM4_DIR)/library.c
	@printf '#include "cbk_token.h"\n#define CBK_TOKEN_HTTP1_IMPLEMENTATION\n#include "adapters/cbk_token_http1.h"\n' \
	    >$(EMB_CM4_DIR)/engine.c
	@printf '#include "cbk_token.h"\n#include "adapters/cbk_token_http1.h"\n#define CBK_TOKEN_MBEDTLS_IMPLEMENTATION\n#include "adapters/cbk_token_mbedtls.h"\n' \
	    >$(EMB_CM4_DIR)/mbedtls_adapter.c
	@printf '#include "lwip/sockets.h"\n#include "cbk_token.h"\n#include "adapters/cbk_token_http1.h"\n#include "adapters/cbk_token_mbedtls.h"\n#define CBK_TOKEN_LWIP_IMPLEMENTATION\n#include "adapters/cbk_token_lwip.h"\n' \
	    >$(EMB_CM4_DIR)/lwip_adapter.c
	@printf '#include "examples/embedded/net_lwip_mbedtls.c"\n' >$(EMB_CM4_DIR)/example_net.c
	@printf '#include "lwip/sockets.h"\n#include "cbk_token.h"\n#include "adapters/cbk_token_http1.h"\n#include "adapters/cbk_token_mbedtls.h"\n#include "adapters/cbk_token_lwip.h"\ncbk_client ram_client;\ncbk_http1 ram_engine;\ncbk_mbedtls ram_mbedtls;\ncbk_lwip ram_lwip;\n' \
	    >$(EMB_CM4_DIR)/ram.c
	@$(EMB_CM4_CC) -c $(EMB_CM4_DIR)/ram.c -o $(EMB_CM4_DIR)/ram.o
	@for p in $(EMB_CM4_PARTS); do \
	    $(EMB_CM4_CC) -c $(EMB_CM4_DIR)/$$p.c -o $(EMB_CM4_DIR)/$$p.o || exit 1; done
	@echo "Cortex-M4, arm-none-eabi-gcc -Os (text = flash incl. rodata; data+bss = RAM; bytes):"
	@$(ARM_SIZE) $(foreach p,$(EMB_CM4_PARTS),$(EMB_CM4_DIR)/$(p).o) | \
	    awk 'NR > 1 { n = $$6; sub(".*/", "", n); sub("[.]o$$", "", n); \
	        printf "  %-16s text %6d  data %4d  bss %5d\n", n, $$1, $$2, $$3 }'
	@echo "  the state each keeps (caller-owned; mbedTLS's heap comes on top, see the adapter):"
	@$(ARM_NM) -S -t d $(EMB_CM4_DIR)/ram.o | \
	    awk '{ printf "    sizeof(%s) %d\n", $$4, $$2 + 0 }' | \
	    sed 's/ram_client/cbk_client/; s/ram_engine/cbk_http1/; s/ram_mbedtls/cbk_mbedtls/; s/ram_lwip/cbk_lwip/'
