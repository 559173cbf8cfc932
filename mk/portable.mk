# mk/portable.mk - freestanding and cross builds, the tests on other ISAs and
# byte orders, and the size/stack report (issue 5).
#
# Included by the top-level Makefile from the repository root; uses BUILD,
# UNIT_SRC and PYTHON when it defines them. The work is done by
# tests/portable/run.sh (see its header for what each part checks) and
# tools/size_report.py; names defined here start with PORTABLE_.
#
#   make portable          every part below; ends "portable: N passed, M failed"
#   make portable-matrix   gcc/clang C99/C11/C17 and g++/clang++ C++11/C++17,
#                          -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Werror
#   make portable-nolibc   CBK_TOKEN_NO_LIBC -ffreestanding, linked -nostdlib, on
#                          x86-64, i386, Cortex-M0+/M4 and rv32imac
#   make cross             Cortex-M0+, Cortex-M4, rv32imac; examples/embedded for M4
#   make test-m32          unit tests + test_embedded as 32-bit x86 (ASan+UBSan)
#   make test-qemu-be      the same on big-endian s390x under qemu-user
#   make test-qemu-m3      the same on Cortex-M3 under qemu-system-arm (mps2-an385)
#   make test-embedded     tests/test_embedded.c on the host (ASan+UBSan)
#   make test-avr          16-bit int: avr-gcc -mmcu=atmega2560 -Os -Wall -Wextra
#                          -Werror, and tests/portable/avr_tests.c under simavr
#   make size              the size and stack report (build/size/report.txt) and the
#                          published figures, docs/size.md (committed; `make lint`
#                          fails when it is stale: mk/lint.mk)
#
# Packages (Debian 12): gcc-arm-none-eabi libnewlib-arm-none-eabi
# gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-user
# qemu-system-arm gcc-s390x-linux-gnu libc6-dev-s390x-cross lib32gcc-12-dev
# libc6-dev-i386 lib32asan8 lib32ubsan1 clang (not gcc-multilib: it
# conflicts with the s390x cross compiler); gcc-avr avr-libc binutils-avr
# simavr for the AVR part.

PORTABLE_BUILD := $(or $(BUILD),build)
PORTABLE_UNIT_SRC := $(or $(UNIT_SRC),tests/test_main.c tests/test_json.c tests/test_client.c)
PORTABLE_PYTHON := $(or $(PYTHON),python3)
PORTABLE_RUN = BUILD='$(PORTABLE_BUILD)' UNIT_SRC='$(PORTABLE_UNIT_SRC)' sh tests/portable/run.sh

.PHONY: portable portable-matrix portable-nolibc cross test-m32 test-qemu-be test-qemu-m3 \
	test-embedded test-avr size

portable:
	@$(PORTABLE_RUN)

portable-matrix:
	@$(PORTABLE_RUN) matrix

portable-nolibc:
	@$(PORTABLE_RUN) nolibc

cross:
	@$(PORTABLE_RUN) cross

test-m32:
	@$(PORTABLE_RUN) m32

test-qemu-be:
	@$(PORTABLE_RUN) be

test-qemu-m3:
	@$(PORTABLE_RUN) m3

test-embedded:
	@$(PORTABLE_RUN) embedded

test-avr:
	@$(PORTABLE_RUN) avr

size:
	@$(PORTABLE_PYTHON) tools/size_report.py --out $(PORTABLE_BUILD)/size --md docs/size.md
