# mk/fuzz.mk - libFuzzer harnesses (make fuzz) and Valgrind memcheck over
# the unit tests (make valgrind).
#
# Included by the top-level Makefile, which defines CC, BUILD, WARN, CSTD,
# HEADER, UNIT_SRC and UNIT_DEP. Names defined here start with FUZZ_ or VG_.
#
#   make fuzz                 builds every harness with clang
#                             (-fsanitize=fuzzer,address,undefined), seeds a
#                             corpus per harness in build/fuzz/seeds/ from the
#                             JSONTestSuite and fuzz/seeds/, runs each for
#                             FUZZ_SECONDS (default 60; 0 only replays the
#                             seeds and the saved corpus), prints execs,
#                             exec/s and cov per harness, and fails on any
#                             crash, leak, timeout or broken invariant; the
#                             last line is "fuzz: N passed, M failed" (one
#                             per harness). Crash inputs land in
#                             build/fuzz/artifacts/NAME/.
#   make fuzz-build           only builds the harnesses.
#   make fuzz-NAME            runs one harness (e.g. make fuzz-list).
#   make valgrind             the unit tests built without sanitizers (-O1 -g)
#                             as build/test_unit_vg, run under valgrind
#                             memcheck (--leak-check=full); fails on any error
#                             or leak, or when the suite's closing line is
#                             missing; its own last line is "valgrind: 1
#                             passed, 0 failed" (so tests/run_tests.sh counts
#                             it as one part, not the unit tests again).
#
# Needs: clang with libFuzzer (Debian: clang, libclang-rt-14-dev), valgrind.

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_MAX_LEN  ?= 16384
# e.g. -DFZ_AVOID_KNOWN to step around bugs already reported, while exploring
FUZZ_EXTRA_CFLAGS ?=
FUZZ_BUILD    := $(or $(BUILD),build)/fuzz
FUZZ_CFLAGS   := -std=c99 -g -O1 -Wall -Wextra -Wpedantic -Werror \
                 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                 -fno-omit-frame-pointer
FUZZ_NAMES    := json jsonapi list stream object error request fetch http1
FUZZ_BINS     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_DEPS     := $(or $(HEADER),cbk_token.h) fuzz/fuzz_common.h
# The JSONTestSuite the unit tests read (same place, same override).
FUZZ_JSONTESTSUITE ?= $(or $(CBK_JSONTESTSUITE),tests/data/JSONTestSuite/test_parsing)

# Which seed sets each harness starts from: "jts" is the JSONTestSuite,
# anything else a folder of fuzz/seeds/.
FUZZ_SEEDS_json    := jts list stream object error
FUZZ_SEEDS_jsonapi := jts list object
FUZZ_SEEDS_list    := jts list
FUZZ_SEEDS_stream  := stream list
FUZZ_SEEDS_object  := jts object
FUZZ_SEEDS_error   := jts error
FUZZ_SEEDS_request := request
FUZZ_SEEDS_fetch   := fetch stream
FUZZ_SEEDS_http1   := http1

.PHONY: fuzz fuzz-build fuzz-seeds valgrind $(FUZZ_NAMES:%=fuzz-%)

# rebuilt when the compiler or flags change (e.g. FUZZ_EXTRA_CFLAGS)
FUZZ_STAMP := $(FUZZ_BUILD)/flags.stamp
FUZZ_CMD := $(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_EXTRA_CFLAGS)
$(FUZZ_STAMP): FORCE
	@mkdir -p $(FUZZ_BUILD)
	@echo '$(FUZZ_CMD)' | cmp -s - $@ || echo '$(FUZZ_CMD)' >$@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DEPS) fuzz/fuzz_client.h $(FUZZ_STAMP)
	$(FUZZ_CMD) -I. $< -o $@

FORCE:
.PHONY: FORCE

# the HTTP/1.1 engine's harness (fuzz/fuzz_http1.c) also depends on the engine
$(FUZZ_BUILD)/fuzz_http1: adapters/cbk_token_http1.h

fuzz-build: $(FUZZ_BINS)

# The seed corpora are generated, never committed: copies of the shared
# JSONTestSuite plus the realistic responses in fuzz/seeds/.
fuzz-seeds:
	@seed() { \
	    d=$(FUZZ_BUILD)/seeds/$$1; shift; rm -rf $$d; mkdir -p $$d; \
	    for s in "$$@"; do \
	        if [ "$$s" = jts ]; then \
	            if [ -d "$(FUZZ_JSONTESTSUITE)" ]; then \
	                cp "$(FUZZ_JSONTESTSUITE)"/*.json $$d/; \
	            else \
	                echo "fuzz: JSONTestSuite not found at $(FUZZ_JSONTESTSUITE) (set CBK_JSONTESTSUITE)"; \
	            fi; \
	        else \
	            for f in fuzz/seeds/$$s/*; do \
	                if [ -f "$$f" ]; then cp "$$f" "$$d/$$s-$${f##*/}"; fi; \
	            done; \
	        fi; \
	    done; \
	}; \
	$(foreach h,$(FUZZ_NAMES),seed $(h) $(FUZZ_SEEDS_$(h));) \
	echo "fuzz: seeds in $(FUZZ_BUILD)/seeds/"

# FUZZ_RUN NAME: runs one harness, prints one summary line, fails on a crash.
define FUZZ_RUN
	@mkdir -p $(FUZZ_BUILD)/corpus/$(1) $(FUZZ_BUILD)/artifacts/$(1)
	@log=$(FUZZ_BUILD)/fuzz_$(1).log; \
	if [ "$(FUZZ_SECONDS)" = 0 ]; then limit="-runs=0"; else limit="-max_total_time=$(FUZZ_SECONDS)"; fi; \
	./$(FUZZ_BUILD)/fuzz_$(1) $$limit -max_len=$(FUZZ_MAX_LEN) -timeout=20 \
	    -print_final_stats=1 -dict=fuzz/cbk.dict \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$(1)/ \
	    $(FUZZ_BUILD)/corpus/$(1) $(FUZZ_BUILD)/seeds/$(1) >$$log 2>&1; \
	rc=$$?; \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -n 1); \
	eps=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$log | tail -n 1); \
	line=$$(grep -E '^#[0-9]+' $$log | grep -E 'cov: ' | tail -n 1); \
	cov=$$(echo "$$line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p'); \
	ft=$$(echo "$$line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p'); \
	corp=$$(echo "$$line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p'); \
	if [ $$rc -eq 0 ]; then st=ok; else st="FAILED (exit $$rc)"; fi; \
	sum=$$(printf 'fuzz_%-8s %10s execs  %6s exec/s  cov: %-5s ft: %-6s corpus: %-5s %s' \
	    "$(1)" "$${execs:-?}" "$${eps:-?}" "$${cov:-?}" "$${ft:-?}" "$${corp:-?}" "$$st"); \
	echo "$$sum"; echo "$$sum" >>$(FUZZ_BUILD)/summary.txt; \
	if [ $$rc -ne 0 ]; then \
	    echo "---- what failed ($$log):"; \
	    grep -vE '^#[0-9]+|^INFO:|^	NEW_FUNC|^"|^###|^Dictionary|^stat::|^ *#[0-9]+ 0x' $$log | \
	        grep -v '^$$' | head -n 25; \
	    echo "---- input: $$(ls -t $(FUZZ_BUILD)/artifacts/$(1)/ 2>/dev/null | head -n 1)"; \
	    echo "---- replay: ./$(FUZZ_BUILD)/fuzz_$(1) $(FUZZ_BUILD)/artifacts/$(1)/<file>"; \
	    exit 1; \
	fi
endef

$(foreach h,$(FUZZ_NAMES),$(eval fuzz-$(h): $(FUZZ_BUILD)/fuzz_$(h) fuzz-seeds ; $$(call FUZZ_RUN,$(h))))

# Every harness in turn (FUZZ_SECONDS each); all run even if one fails.
fuzz: fuzz-build fuzz-seeds
	@echo "fuzz: $(words $(FUZZ_NAMES)) harnesses, $(FUZZ_SECONDS) s each"
	@rm -f $(FUZZ_BUILD)/summary.txt; fail=0; for h in $(FUZZ_NAMES); do \
	    $(MAKE) --no-print-directory -s fuzz-run-$$h || fail=1; \
	done; \
	echo "---- summary"; cat $(FUZZ_BUILD)/summary.txt; \
	ok=$$(grep -c ' ok$$' $(FUZZ_BUILD)/summary.txt); \
	echo "fuzz: $$ok passed, $$(($(words $(FUZZ_NAMES)) - ok)) failed"; \
	[ $$fail -eq 0 ]

$(foreach h,$(FUZZ_NAMES),$(eval fuzz-run-$(h): ; $$(call FUZZ_RUN,$(h))))
.PHONY: $(FUZZ_NAMES:%=fuzz-run-%)

# ---------------------------------------------------------------------------
# Valgrind memcheck over the unit tests, without sanitizers.

VG_BIN := $(or $(BUILD),build)/test_unit_vg

$(VG_BIN): $(UNIT_DEP)
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O1 -g -I. $(UNIT_SRC) -o $@

valgrind: $(VG_BIN)
	@log=$$(mktemp); \
	(cd tests && valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all \
	    --track-origins=yes $(abspath $(VG_BIN))) >$$log 2>&1; rc=$$?; \
	cat $$log; \
	if ! grep -Eq '^[0-9]+ passed, [0-9]+ failed$$' $$log; then \
	    echo "valgrind: the suite's closing line is missing"; rc=1; \
	fi; \
	rm -f $$log; \
	if [ $$rc -ne 0 ]; then echo "valgrind: 0 passed, 1 failed (exit $$rc)"; exit 1; fi; \
	echo "valgrind: 1 passed, 0 failed"
