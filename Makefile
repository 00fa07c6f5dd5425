# Parley build. Variants (each in build/<variant>/):
#   release  gcc -O2                       make            -> $(B)/release/parley
#   asan     gcc -O1 ASan+UBSan            make asan       -> $(B)/asan/parley + unit tests
#   fuzz     clang libFuzzer+ASan+UBSan    make fuzz       -> $(B)/fuzz/fuzz_*
# Sources are found by wildcard: src/<module>/*.c make up the library,
# src/main.c the program, tests/unit/<module>/test_*.c one test binary each,
# fuzz/fuzz_*.c one fuzzer each.

VERSION := 0.1.0
.DEFAULT_GOAL := all
B       ?= build
PKGS    := libre librem spandsp speexdsp espeak-ng pocketsphinx
CSTD    := -std=c11 -D_GNU_SOURCE -DHAVE_INTTYPES_H -DHAVE_INET6 -DPARLEY_VERSION='"$(VERSION)"'
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wpointer-arith -Wformat=2 \
           -Wno-unused-parameter -Wno-format-truncation
INCS    := -Isrc $(shell pkg-config --cflags $(PKGS)) -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
LIBS    := $(shell pkg-config --libs $(PKGS)) -lflite_cmu_us_kal -lflite_cmu_us_slt -lflite_usenglish -lflite_cmulex -lflite -lmp3lame -lsqlite3 -lpq -lcrypto -lpthread -lm

SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

LIB_SRCS  := $(wildcard src/*/*.c)
TEST_SRCS := $(wildcard tests/unit/*/test_*.c)
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)

define variant
$(1)_CC     := $(2)
$(1)_CFLAGS := $(CSTD) $(WARN) $(INCS) $(3)
$(1)_LDFLAGS:= $(4)
$(1)_OBJS   := $$(LIB_SRCS:%.c=$(B)/$(1)/obj/%.o)

$(B)/$(1)/obj/%.o: %.c Makefile
	@mkdir -p $$(@D)
	@echo "  CC [$(1)] $$<"
	@$$($(1)_CC) $$($(1)_CFLAGS) -MMD -MP -c $$< -o $$@

$(B)/$(1)/libparley.a: $$($(1)_OBJS)
	@rm -f $$@
	@ar rcs $$@ $$^

$(B)/$(1)/parley: $(B)/$(1)/obj/src/main.o $(B)/$(1)/libparley.a
	@echo "  LD [$(1)] $$@"
	@$$($(1)_CC) $$($(1)_CFLAGS) $$^ $$($(1)_LDFLAGS) $(LIBS) -o $$@

-include $$($(1)_OBJS:.o=.d) $(B)/$(1)/obj/src/main.d
endef

$(eval $(call variant,release,gcc,-O2 -g,))
$(eval $(call variant,asan,gcc,-O1 -g $(SAN),$(SAN)))
$(eval $(call variant,fuzz,clang,-O1 -g $(SAN) -fsanitize=fuzzer-no-link -Wno-unused-command-line-argument -Wno-unknown-warning-option,$(SAN)))

ASAN_TESTS := $(patsubst tests/unit/%.c,$(B)/asan/tests/%,$(TEST_SRCS))
FUZZERS    := $(patsubst fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))
TOOLS      := $(patsubst tests/tools/%.c,$(B)/asan/tools/%,$(TOOL_SRCS))

# test tools (SIP callees, load generators): ASan build, linked like tests
$(B)/asan/tools/%: tests/tools/%.c $(B)/asan/libparley.a
	@mkdir -p $(@D)
	@echo "  LD [tool] $@"
	@$(asan_CC) $(asan_CFLAGS) $< $(B)/asan/libparley.a $(asan_LDFLAGS) $(LIBS) -o $@

$(B)/asan/tests/%: tests/unit/%.c $(B)/asan/libparley.a tests/unit/test.h
	@mkdir -p $(@D)
	@echo "  LD [test] $@"
	@$(asan_CC) $(asan_CFLAGS) -Itests/unit $< $(B)/asan/libparley.a $(asan_LDFLAGS) $(LIBS) -o $@

$(B)/fuzz/%: fuzz/%.c $(B)/fuzz/libparley.a
	@mkdir -p $(@D)
	@echo "  LD [fuzz] $@"
	@$(fuzz_CC) $(fuzz_CFLAGS) -fsanitize=fuzzer $< $(B)/fuzz/libparley.a $(fuzz_LDFLAGS) $(LIBS) -o $@

.PHONY: all release asan unit fuzz test serve bench clean
all: release
release: $(B)/release/parley
asan: $(B)/asan/parley $(ASAN_TESTS) $(TOOLS)
fuzz: $(FUZZERS)
unit: $(ASAN_TESTS)

test:
	scripts/test.sh

serve:
	scripts/serve.sh

bench:
	scripts/bench.sh

clean:
	rm -rf $(B)
