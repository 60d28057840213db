# hearth: a plain Makefile.
#
#   make            build/hearth, build/libhearth.a, build/libhearth.so
#   make test       install missing packages (as root), build, run every test
#   make asan       unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make valgrind   unit tests under valgrind memcheck (HEARTH_TEST_QUICK=1: one golden model per family)
#   make fuzz       build libFuzzer harnesses (clang) and run each for FUZZ_SECONDS
#   make bench      kernel benchmark (bench/kernels)
#   make format     clang-format every source file
#
# Sources are found by wildcard: add a file under src/<concern>/ and it is built;
# add tests/test_<name>.c and it becomes a unit-test program.  BUILD=dir keeps
# separate build trees (e.g. several people building at once).

BUILD    ?= build
CC       ?= cc
PKGS     := jansson libutf8proc libmicrohttpd md4c sqlite3 libsodium
OPT      ?= -O2
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -fPIC -g $(OPT) -pthread \
	-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2 \
	-Wno-unused-parameter -Iinclude -Isrc
ifeq ($(CI),true)
CFLAGS_BASE += -Werror
endif
CFLAGS   ?=
ALL_CFLAGS = $(CFLAGS_BASE) $(SAN) $(CFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
# The program alone links libedit (line editing and history for `hearth chat`).
CLI_LIBS := $(shell pkg-config --libs libedit 2>/dev/null)
LDFLAGS  ?=

# Per-ISA kernel files get their own target flags; everything else is baseline x86-64
# so the binary runs on any x86-64 and picks its kernels at start-up.
ISA_AVX2   := -mavx2 -mfma -mf16c -mbmi2
ISA_AVX512 := $(ISA_AVX2) -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))
WEB_SRC  := $(sort $(shell find web -name '.*' -prune -o -type f ! -name '*~' -print 2>/dev/null))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/web_assets.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all run test deps-dev unit e2e asan valgrind fuzz fuzz-replay bench format deps clean FORCE
all: $(BUILD)/hearth $(BUILD)/libhearth.a $(BUILD)/libhearth.so

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(if $(findstring x86-avx512,$<),$(ISA_AVX512),$(if $(findstring x86-avx2,$<),$(ISA_AVX2))) -MMD -MP -c $< -o $@

# The web UI (web/) is compiled into the library: tools/embed.c writes a table of the
# files (bytes, Content-Type, ETag) sorted by path; web_files.txt changes when a file is
# added or removed, so either rebuilds it.
$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra $(if $(filter true,$(CI)),-Werror) $(shell pkg-config --cflags libsodium) -o $@ $< $(shell pkg-config --libs libsodium)

$(BUILD)/gen/web_files.txt: FORCE
	@mkdir -p $(dir $@)
	@echo '$(WEB_SRC)' | cmp -s - $@ || echo '$(WEB_SRC)' > $@

$(BUILD)/gen/web_assets.c: $(BUILD)/tools/embed $(BUILD)/gen/web_files.txt $(WEB_SRC)
	$(BUILD)/tools/embed $@ web $(WEB_SRC)

$(BUILD)/obj/gen/web_assets.o: $(BUILD)/gen/web_assets.c src/server/web.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libhearth.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libhearth.so: $(LIB_OBJ)
	$(CC) -shared $(SAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/hearth: $(CLI_OBJ) $(BUILD)/libhearth.a
	$(CC) $(SAN) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libhearth.a $(LDLIBS) $(CLI_LIBS)

$(BUILD)/tests/%: tests/%.c tests/testutil.h $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(BUILD)/libhearth.a $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O3 -o $@ $< $(BUILD)/libhearth.a $(LDLIBS)

# Packages: `make deps` installs what is missing when run as root, and otherwise
# prints the exact command to run.
DEB_PKGS := build-essential pkg-config libcmocka-dev libjansson-dev libutf8proc-dev libedit-dev tmux libmicrohttpd-dev libmd4c-dev libsqlite3-dev libsodium-dev curl jq sqlite3 chromium
deps:
	@sh tools/deps.sh $(DEB_PKGS)
deps-dev: deps
	@sh tools/deps.sh clang valgrind

# make run [MODEL=file.gguf|name]: build, then chat with MODEL in the terminal, or
# without MODEL start hearth serve on http://127.0.0.1:8080 (models: SERVE_ARGS="-m FILE ...").
run: deps
	@$(MAKE) --no-print-directory all
	@if [ -n "$(MODEL)" ]; then exec $(BUILD)/hearth chat -m "$(MODEL)"; \
	else exec $(BUILD)/hearth serve --host 127.0.0.1 --port $${PORT:-8080} $(SERVE_ARGS); fi

unit: $(TESTS)
	@sh tools/run-tests.sh $(TESTS)

e2e: all
	@sh tools/run-e2e.sh $(BUILD)

FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz-replay/%)
$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(BUILD)/libhearth.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay_main.c $(BUILD)/libhearth.a $(LDLIBS)

fuzz-replay: $(FUZZ_BINS)
	@sh tools/run-fuzz-replay.sh $(BUILD)

export HEARTH_SUMMARY := $(abspath $(BUILD))/test-summary.txt
test: deps
	@mkdir -p $(BUILD) && rm -f $(HEARTH_SUMMARY)
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-replay
	@command -v npm >/dev/null 2>&1 || sh tools/deps.sh nodejs npm || echo "note: no npm: the openai SDK test will be skipped"
	@if command -v npm >/dev/null 2>&1; then (cd tests/e2e/openai && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || echo "npm ci failed: the openai SDK test will be skipped"; fi
	@if command -v npm >/dev/null 2>&1; then (cd tests/e2e/web && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || echo "npm ci failed: the web UI test will be skipped"; fi
	@$(MAKE) --no-print-directory e2e
	@awk '{p+=$$1; f+=$$2; s+=$$3} END {printf "all tests: %d passed, %d failed, %d skipped\n", p, f, s}' $(HEARTH_SUMMARY)

# Sanitizer and valgrind builds live in their own trees.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" OPT=-O1 unit fuzz-replay

valgrind: deps-dev
	@$(MAKE) --no-print-directory BUILD=build-vg $(TESTS:$(BUILD)/%=build-vg/%)
	@VALGRIND=1 HEARTH_TEST_QUICK=1 sh tools/run-tests.sh $(TESTS:$(BUILD)/%=build-vg/%)

# Fuzzing: libFuzzer harnesses (clang), the library built with coverage in its own tree.
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined
fuzz: deps-dev
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" build-fuzz/libhearth.a
	@mkdir -p build-fuzz/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang $(CFLAGS_BASE) $(FUZZ_SAN) -fsanitize=fuzzer $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
	    -o build-fuzz/fuzz/$$n $$f build-fuzz/libhearth.a $(LDLIBS) || exit 1; done
	@sh tools/run-fuzz.sh build-fuzz $(FUZZ_SECONDS)

bench: $(BENCHES) $(BUILD)/hearth
	$(BUILD)/bench/kernels

format:
	clang-format -i $$(find include src tests bench -name '*.[ch]')

clean:
	rm -rf build build-asan build-vg build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
