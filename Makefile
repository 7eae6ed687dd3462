# tlsgate — top-level build.
#
#   make            build libtlsgate (shared + static), the daemons and the CLI
#   make test       install missing packages, build, run every test
#   make asan       the same test suite under AddressSanitizer + UBSan
#   make run        install, build and start the whole gateway under ./run/
#   make deps       install the Debian packages the build and tests need
#   make install    DESTDIR=... PREFIX=... into the usual places
#
# Sources are discovered, not listed: lib/<layer>/<module>.c go into
# libtlsgate, daemons/<name>/*.c into build/bin/tlsgate-<name>, cli/*.c into
# build/bin/tlsgate, tests/unit/test_<x>.c into build/tests/test_<x>; the
# web console's files (web/) are embedded in tlsgate-controllerd.

BUILD    ?= build
CC       ?= cc
PREFIX   ?= /usr
DESTDIR  ?=
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
VERSION  := 0.1.0

PKGS     := openssl libunbound libcurl libmicrohttpd gnutls sqlite3 libevent \
            libevent_openssl jansson zlib ldns opendkim

WARN     := -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes \
            -Wstrict-prototypes -Wvla -Wimplicit-fallthrough -Werror
OPT      ?= -O2 -g
SAN      ?=
ifeq ($(SAN),1)
OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=all
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CPPFLAGS += -D_GNU_SOURCE -Ilib -DTG_VERSION='"$(VERSION)"' \
            -DTG_SYSCONFDIR='"$(SYSCONFDIR)"' \
            -DTG_LOCALSTATEDIR='"$(LOCALSTATEDIR)"'
CFLAGS   += $(WARN) $(OPT) -fPIC $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += $(filter -fsanitize%,$(OPT))
LDLIBS   += $(PKG_LIBS) -lpthread -lm

LIB_SRC   := $(sort $(wildcard lib/*/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
DAEMONS   := relayd mxd stsd rptd controllerd
DAEMON_BINS := $(DAEMONS:%=$(BUILD)/bin/tlsgate-%)
CLI_SRC   := $(sort $(wildcard cli/*.c))
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TESTLIB_SRC := $(sort $(wildcard tests/unit/support/*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

STATIC_LIB := $(BUILD)/lib/libtlsgate.a
SHARED_LIB := $(BUILD)/lib/libtlsgate.so.0

.PHONY: all deps test unit asan run install clean format format-check tests bench
all: $(STATIC_LIB) $(SHARED_LIB) $(DAEMON_BINS) $(BUILD)/bin/tlsgate \
     $(BUILD)/lib/pkgconfig/tlsgate.pc

# V=1 shows the full commands.
V ?= 0
ifeq ($(V),0)
Q := @
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(STATIC_LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libtlsgate.so.0 $(LDFLAGS) -o $@ $^ $(LDLIBS)
	$(Q)ln -sf libtlsgate.so.0 $(BUILD)/lib/libtlsgate.so

$(BUILD)/lib/pkgconfig/tlsgate.pc: packaging/tlsgate.pc.in
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@REQUIRES@|$(PKGS)|' $< > $@

# Each daemon: all .c files in its directory, linked to the static library.
define daemon_rule
$(BUILD)/bin/tlsgate-$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard daemons/$(1)/*.c)) $(STATIC_LIB)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(STATIC_LIB) $$(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rule,$(d))))

# The web console (web/) is served by tlsgate-controllerd from its own
# binary: scripts/embed_web.sh turns the files into C arrays (xxd), which
# are compiled into that daemon only. A change of a file rebuilds it.
WEB_FILES := web/index.html web/app.js web/app.css
$(BUILD)/gen/web_files.c: $(WEB_FILES) scripts/embed_web.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)scripts/embed_web.sh $(WEB_FILES) > $@.tmp && mv -f $@.tmp $@
$(BUILD)/obj/gen/web_files.o: $(BUILD)/gen/web_files.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) -Idaemons/controllerd $(CFLAGS) -c $< -o $@
$(BUILD)/bin/tlsgate-controllerd: $(BUILD)/obj/gen/web_files.o

$(BUILD)/bin/tlsgate: $(CLI_OBJ) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC_LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TESTLIB_OBJ) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(TESTLIB_OBJ) $(STATIC_LIB) $(LDLIBS) -lcmocka

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(STATIC_LIB) $(LDLIBS)

tests: all $(UNIT_BINS)
bench: all $(BENCH_BINS)

deps:
	@scripts/deps.sh

# make test: every unit test binary, then every integration test, one
# summary line at the end (tests/run.sh prints it).
test: deps
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) tests/run.sh

unit: tests
	@BUILD=$(BUILD) tests/run.sh --unit-only

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 tests
	@BUILD=build-asan SAN=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run.sh

run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/tlsgate \
	    $(DESTDIR)$(SYSCONFDIR)/tlsgate \
	    $(DESTDIR)$(LOCALSTATEDIR)/lib/tlsgate \
	    $(DESTDIR)$(LOCALSTATEDIR)/spool/tlsgate
	install -m 0755 $(DAEMON_BINS) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(BUILD)/bin/tlsgate $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(STATIC_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(SHARED_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libtlsgate.so.0 $(DESTDIR)$(PREFIX)/lib/libtlsgate.so
	install -m 0644 $(BUILD)/lib/pkgconfig/tlsgate.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	for d in $(patsubst lib/%/,%,$(wildcard lib/*/)); do \
	    install -d $(DESTDIR)$(PREFIX)/include/tlsgate/$$d; \
	    for h in lib/$$d/*.h; do [ -e "$$h" ] && \
	        install -m 0644 $$h $(DESTDIR)$(PREFIX)/include/tlsgate/$$d/; \
	    done; true; done
	test -e $(DESTDIR)$(SYSCONFDIR)/tlsgate/tlsgate.conf || \
	    install -m 0644 etc/tlsgate.conf $(DESTDIR)$(SYSCONFDIR)/tlsgate/tlsgate.conf
	install -d $(DESTDIR)/lib/systemd/system
	install -m 0644 packaging/systemd/*.service $(DESTDIR)/lib/systemd/system/ 2>/dev/null || true

# make format FILES="lib/x/y.c ..." lays out new code with .clang-format;
# format-check holds every C file to STYLE.md's layout rules.
format:
	@test -n "$(FILES)" || { echo "make format FILES=\"file.c ...\"" >&2; exit 2; }
	clang-format -i $(FILES)
format-check:
	@scripts/style_check.sh

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
