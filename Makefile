# refsync - Lever <-> Crosschq connector. GNU make.
#
#   make            build sync/refsync, hook/refsync-hook, export/refsync-export
#   make check      install missing packages (as root), build normal + sanitizer
#                   builds, run every test; ends with "N passed, N failed"
#   make demo       start the fakes with a sandbox tenant, sync, export
#   make bench      benchmarks (ratios measured in one run)
#   make install    PREFIX=/usr/local DESTDIR= (make uninstall: the same)
#
# CFLAGS, CPPFLAGS and LDFLAGS are the user's: this file only adds to them.

PKG_CONFIG ?= pkg-config
INSTALL ?= install
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/lib/refsync
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/refsync
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
CFLAGS ?= -O2 -g
PYTHON ?= /usr/bin/python3

PKGS := libcurl yajl sqlite3 libxml-2.0 libcrypto inih
DEPS_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DEPS_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes
VERSION := 0.1.0
BASE_CFLAGS = -std=c17 -D_GNU_SOURCE -DREFSYNC_VERSION=\"$(VERSION)\" -Ilib -Isync -Ihook -Iexport -Ibuild/gen $(WARN) $(DEPS_CFLAGS)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# the check build treats warnings as errors; user builds do not
CHECK_FLAGS := -Werror

# --- sources: one folder per program, lib/ for what all three link ---------
# lib/: shared by all three programs (config, database, audit, logging, the
# spool that refsync-hook writes and refsync reads, answer links that refsync
# mails and refsync-hook checks)
# the basics (util.h): buffers and strings, the clock, files
UTIL_SRC := lib/buf.c lib/clock.c lib/files.c
CONFIG_SRC := lib/config.c lib/config_template.c lib/config_check.c lib/config_secret.c
COMMON_SRC := $(wildcard lib/*.c)
# hook/: refsync-hook (CGI); hook/hook_main.c holds main()
HOOK_MAIN := hook/hook_main.c
HOOK_SRC := $(filter-out $(HOOK_MAIN),$(wildcard hook/*.c))
# sync/: refsync (the batch program); sync/main.c holds main()
SYNC_MAIN := sync/main.c
SYNC_SRC := $(filter-out $(SYNC_MAIN),$(wildcard sync/*.c))
# refsync-export: export/export_main.c holds main()
EXPORT_SRC := $(filter-out export/export_main.c,$(wildcard export/*.c))
EXPORT_MAIN := export/export_main.c
MIGRATIONS := $(sort $(wildcard schema/[0-9]*.sql))
UNIT_TESTS := $(basename $(notdir $(wildcard tests/unit/test_*.c)))

.PHONY: all asan check test demo bench deps install uninstall clean fuzz memcheck

all: sync/refsync hook/refsync-hook export/refsync-export

build/gen/migrations.c: $(MIGRATIONS) schema/embed.sh
	@mkdir -p $(@D)
	sh schema/embed.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

# --- one build per variant: normal (build/normal) and sanitizers (build/asan)
define variant
$(1)_DIR := build/$(1)
$(1)_FLAGS := $(2)
$(1)_COMMON := $$(patsubst %.c,build/$(1)/%.o,$(COMMON_SRC)) build/$(1)/gen/migrations.o
$(1)_SYNC := $$(patsubst %.c,build/$(1)/%.o,$(SYNC_SRC))
$(1)_HOOK := $$(patsubst %.c,build/$(1)/%.o,$(HOOK_SRC))
$(1)_EXPORT := $$(patsubst %.c,build/$(1)/%.o,$(EXPORT_SRC))
$(1)_LIBS := build/$(1)/libexport.a build/$(1)/libhook.a build/$(1)/libsync.a build/$(1)/libcommon.a

build/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_CFLAGS) $$($(1)_FLAGS) $$(CPPFLAGS) $$(CFLAGS) -MMD -MP -c -o $$@ $$<

build/$(1)/gen/migrations.o: build/gen/migrations.c
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_CFLAGS) $$($(1)_FLAGS) $$(CPPFLAGS) $$(CFLAGS) -c -o $$@ $$<

build/$(1)/libcommon.a: $$($(1)_COMMON)
	rm -f $$@ && $$(AR) rcs $$@ $$^
build/$(1)/libsync.a: $$($(1)_SYNC)
	rm -f $$@ && $$(AR) rcs $$@ $$^
build/$(1)/libhook.a: $$($(1)_HOOK)
	rm -f $$@ && $$(AR) rcs $$@ $$^
build/$(1)/libexport.a: $$($(1)_EXPORT)
	rm -f $$@ && $$(AR) rcs $$@ $$^

build/$(1)/bin/refsync: build/$(1)/$(SYNC_MAIN:.c=.o) build/$(1)/libsync.a build/$(1)/libcommon.a
	@mkdir -p $$(@D)
	$$(CC) $$($(1)_FLAGS) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(DEPS_LIBS) -lm
build/$(1)/bin/refsync-hook: build/$(1)/$(HOOK_MAIN:.c=.o) build/$(1)/libhook.a build/$(1)/libcommon.a
	@mkdir -p $$(@D)
	$$(CC) $$($(1)_FLAGS) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(DEPS_LIBS) -lm
build/$(1)/bin/refsync-export: build/$(1)/$(EXPORT_MAIN:.c=.o) build/$(1)/libexport.a build/$(1)/libcommon.a
	@mkdir -p $$(@D)
	$$(CC) $$($(1)_FLAGS) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(DEPS_LIBS) -lm
build/$(1)/tests/%: build/$(1)/tests/unit/%.o $$($(1)_LIBS)
	@mkdir -p $$(@D)
	$$(CC) $$($(1)_FLAGS) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(DEPS_LIBS) $$(CMOCKA_LIBS) -lm

$(1)-bins: build/$(1)/bin/refsync build/$(1)/bin/refsync-hook build/$(1)/bin/refsync-export
$(1)-tests: $$(addprefix build/$(1)/tests/,$(UNIT_TESTS))
endef

$(eval $(call variant,normal,))
$(eval $(call variant,check,$(CHECK_FLAGS)))
$(eval $(call variant,asan,$(SAN_FLAGS) $(CHECK_FLAGS) -O1))

-include $(shell find build -name '*.d' 2>/dev/null)

# copied then renamed, so that a binary that is running is replaced, not overwritten
sync/refsync: build/normal/bin/refsync
	cp $< $@.tmp && mv -f $@.tmp $@
hook/refsync-hook: build/normal/bin/refsync-hook
	cp $< $@.tmp && mv -f $@.tmp $@
export/refsync-export: build/normal/bin/refsync-export
	cp $< $@.tmp && mv -f $@.tmp $@

asan: asan-bins asan-tests

# --- set-up: missing Debian packages (installed when root) -----------------
deps:
	@sh tests/deps.sh

# --- tests ------------------------------------------------------------------
check: deps
	$(MAKE) all check-bins check-tests asan-bins asan-tests fuzz-replay
	sh tests/check.sh

test: check

demo: deps
	$(MAKE) all
	sh tests/demo.sh

bench: deps
	$(MAKE) all
	$(PYTHON) tests/bench/bench.py

# --- install ----------------------------------------------------------------
# Units get their paths filled in, and so do the man pages: they are written
# for the default PREFIX (/usr/local) and SYSCONFDIR (/etc), and each such
# path becomes the directory variable's value. The config holds no secret: it
# is installed root:refsync 0640 (group refsync when that group exists), and
# never replaces an existing one.
MAN_PAGES := $(wildcard sync/*.[158] hook/*.[158] export/*.[158])
UNITS := $(wildcard systemd/*.service systemd/*.timer systemd/*.path)
DOCS := README.md CHANGELOG.md LICENSE
MAN_SED = -e 's|/usr/local/share/doc/refsync|$(DOCDIR)|g' -e 's|/usr/local/share/refsync|$(DATADIR)/refsync|g' \
	-e 's|/usr/local/lib/refsync|$(LIBEXECDIR)|g' -e 's|/usr/local/bin|$(BINDIR)|g' \
	-e 's|/etc/refsync|$(SYSCONFDIR)/refsync|g' -e 's|^\.Os.*|.Os refsync $(VERSION)|'

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(SYSCONFDIR)/refsync \
		$(DESTDIR)$(DATADIR)/refsync $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0755 sync/refsync export/refsync-export $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0755 hook/refsync-hook $(DESTDIR)$(LIBEXECDIR)/
	for m in $(MAN_PAGES); do n=$${m##*/}; \
		sed $(MAN_SED) $$m > $(DESTDIR)$(MANDIR)/man$${n##*.}/$$n && \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$${n##*.}/$$n || exit 1; done
	for u in $(UNITS); do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
			-e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' $$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${u##*/} || exit 1; done
	$(INSTALL) -m 0644 systemd/refsync.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/refsync.conf
	$(INSTALL) -m 0644 schema/audit.xsd $(DESTDIR)$(DATADIR)/refsync/audit.xsd
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 systemd/README.md $(DESTDIR)$(DOCDIR)/README.systemd.md
	$(INSTALL) -m 0644 sync/refsync.conf.example $(DESTDIR)$(DOCDIR)/refsync.conf.example
	if [ ! -e $(DESTDIR)$(SYSCONFDIR)/refsync/refsync.conf ]; then \
		$(INSTALL) -m 0640 sync/refsync.conf.example $(DESTDIR)$(SYSCONFDIR)/refsync/refsync.conf && \
		if [ -z "$(DESTDIR)" ] && getent group refsync >/dev/null 2>&1; then \
			chgrp refsync $(SYSCONFDIR)/refsync/refsync.conf; fi; \
	fi

# Removes everything install put. The config goes only when it is still the
# installed example; a changed one, the secrets (*.credentials/), other
# tenants' configs and the state (/var/lib/refsync, /var/lib/refsync-reports)
# stay, and are named.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/refsync $(DESTDIR)$(BINDIR)/refsync-export \
		$(DESTDIR)$(LIBEXECDIR)/refsync-hook
	rm -f $(foreach m,$(notdir $(MAN_PAGES)),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(m))
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(UNITS)))
	rm -f $(DESTDIR)$(PREFIX)/lib/sysusers.d/refsync.conf $(DESTDIR)$(DATADIR)/refsync/audit.xsd
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(DOCS) README.systemd.md refsync.conf.example)
	if cmp -s sync/refsync.conf.example $(DESTDIR)$(SYSCONFDIR)/refsync/refsync.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/refsync/refsync.conf; fi
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DATADIR)/refsync $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/refsync 2>/dev/null
	@for f in $(DESTDIR)$(SYSCONFDIR)/refsync/*; do [ -e "$$f" ] || continue; \
		case $$f in *.credentials) what="secrets";; *.conf) what="a config changed since install (or another tenant's)";; \
		*) what="not installed by make install";; esac; \
		echo "make uninstall: kept $$f ($$what); remove it by hand when it is no longer needed"; done
	@for d in /var/lib/refsync /var/lib/refsync-reports; do [ -z "$(DESTDIR)" ] && [ -d $$d ] && \
		echo "make uninstall: kept $$d (the database, spool and reports)"; done; true

clean:
	rm -rf build sync/refsync hook/refsync-hook export/refsync-export

# --- fuzzing (tests/fuzz) ---------------------------------------------------
# Each tests/fuzz/fuzz_<name>.c is one libFuzzer target; its seed inputs are
# in tests/fuzz/corpus/<name>/, and inputs that once crashed it are kept in
# tests/fuzz/regressions/<name>/.
#
#   make fuzz [FUZZ_SECONDS=60]   build every target with clang
#       (-fsanitize=fuzzer,address,undefined, compiled from the sources, not
#       from the gcc archives) into build/fuzz/<name> and run each for
#       FUZZ_SECONDS with -max_len=65536; new inputs go to build/fuzz/corpus/,
#       crashes to build/fuzz/crashes/<name>-*; the log of a run is
#       build/fuzz/<name>.log. Fails when a target crashed. make -j runs
#       targets side by side.
#   make fuzz-replay              the same sources as plain programs under gcc
#       ASan+UBSan (tests/fuzz/replay_main.c) in build/asan/fuzz/<name>;
#       tests/check.sh replays the corpus and regressions with them (make
#       check builds them).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN := 65536
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# the sources each target needs besides its own file (a new target adds its line)
FUZZ_SRC_lever_page := sync/lever_parse.c sync/jstream.c lib/escape.c $(UTIL_SRC) lib/log.c
FUZZ_SRC_crosschq_page := sync/crosschq_parse.c lib/json_read.c $(CONFIG_SRC) $(UTIL_SRC) lib/log.c
FUZZ_SRC_hook := $(HOOK_SRC) $(COMMON_SRC) build/gen/migrations.c
FUZZ_SRC_config := $(CONFIG_SRC) $(UTIL_SRC) lib/log.c
FUZZ_SRC_escape := lib/escape.c lib/answer_link.c $(UTIL_SRC) lib/log.c
FUZZ_SRC_hook_cgi := $(FUZZ_SRC_hook)
FUZZ_SRC_spool := sync/ingest_record.c lib/json_read.c lib/spool.c $(UTIL_SRC) lib/log.c
FUZZ_SRC_mail := sync/mail.c sync/mail_compose.c sync/mail_header.c sync/mail_address.c lib/escape.c $(UTIL_SRC) lib/log.c
FUZZ_SRC_http_headers := sync/http.c sync/http_error.c sync/http_text.c $(CONFIG_SRC) $(UTIL_SRC) lib/log.c
FUZZ_SRC_iso8601 := $(UTIL_SRC) lib/log.c
FUZZ_SRC_anchor := export/anchor.c export/sign.c export/output.c export/export_rows.c export/html_rows.c export/html_cells.c \
	$(COMMON_SRC) build/gen/migrations.c
# refsync-hook logs a line per request: its run closes the target's stdout
# and stderr (libFuzzer keeps its own output and the sanitizer reports)
FUZZ_RUN_OPTS_hook := -close_fd_mask=3
FUZZ_REPLAY := $(addprefix build/asan/fuzz/,$(FUZZ_NAMES))

.PHONY: fuzz-replay

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

define fuzz_target
build/fuzz/$(1): build/fuzz/obj/tests/fuzz/fuzz_$(1).o $$(patsubst %.c,build/fuzz/obj/%.o,$$(FUZZ_SRC_$(1)))
	$$(FUZZ_CC) $$(CFLAGS) $$(FUZZ_FLAGS) -fsanitize=fuzzer $$(LDFLAGS) -o $$@ $$^ $$(DEPS_LIBS) -lm
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call fuzz_target,$(n))))

# One run; its exit status goes to build/fuzz/<name>.status so that every
# target runs even when one crashes. Scratch corpus first: libFuzzer writes
# the inputs it finds into the first directory.
fuzz-run-%: build/fuzz/%
	@mkdir -p build/fuzz/corpus/$* build/fuzz/crashes
	@echo "fuzz: $* for $(FUZZ_SECONDS) s (log: build/fuzz/$*.log)"
	@ASAN_OPTIONS=$${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	LSAN_OPTIONS=$${LSAN_OPTIONS:-suppressions=$(CURDIR)/tests/lsan.supp} \
	build/fuzz/$* -max_len=$(FUZZ_MAX_LEN) -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		$(FUZZ_RUN_OPTS_$*) -print_final_stats=1 -artifact_prefix=build/fuzz/crashes/$*- \
		build/fuzz/corpus/$* tests/fuzz/corpus/$* \
		$$([ -d tests/fuzz/regressions/$* ] && echo tests/fuzz/regressions/$*) \
		>build/fuzz/$*.log 2>&1; echo $$? >build/fuzz/$*.status
	@echo "fuzz: $*: exit $$(cat build/fuzz/$*.status), \
	$$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/$*.log) runs in \
	$$(sed -n 's/^stat::average_exec_per_sec: *//p' build/fuzz/$*.log)/s"

fuzz: $(addprefix fuzz-run-,$(FUZZ_NAMES))
	@bad=0; for n in $(FUZZ_NAMES); do \
		if [ "$$(cat build/fuzz/$$n.status)" != 0 ]; then \
			bad=1; echo "fuzz: $$n FAILED; the end of build/fuzz/$$n.log:"; tail -40 build/fuzz/$$n.log; fi; \
	done; \
	ls build/fuzz/crashes/* 2>/dev/null | sed 's/^/fuzz: crash input: /'; \
	[ $$bad = 0 ] && echo "fuzz: every target ran $(FUZZ_SECONDS) s without a crash"; \
	exit $$bad

# The replay programs: gcc with the asan variant's flags, compiled from the
# same sources as the fuzz targets. gcc leaves float-cast-overflow out of
# -fsanitize=undefined (clang has it), so it is added here: an input that
# clang's UBSan stops on must stop the replay too.
FUZZ_REPLAY_FLAGS = $(asan_FLAGS) -fsanitize=float-cast-overflow -fno-sanitize-recover=float-cast-overflow

build/asan/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(FUZZ_REPLAY_FLAGS) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

define fuzz_replay
build/asan/fuzz/$(1): build/asan/fuzz/obj/tests/fuzz/fuzz_$(1).o build/asan/fuzz/obj/tests/fuzz/replay_main.o \
		$$(patsubst %.c,build/asan/fuzz/obj/%.o,$$(FUZZ_SRC_$(1)))
	$$(CC) $$(FUZZ_REPLAY_FLAGS) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(DEPS_LIBS) -lm
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call fuzz_replay,$(n))))

fuzz-replay: $(FUZZ_REPLAY)

# --- memcheck ---------------------------------------------------------------
# make memcheck: the demo's story (tests/memcheck.py over tests/e2e/harness.py)
# with refsync, refsync-hook and refsync-export of the normal build run under
# valgrind memcheck; fails when a program reports a memory error or a definite
# or indirect leak (exit 99) or exits with another code than expected.
memcheck: deps
	$(MAKE) normal-bins
	$(PYTHON) tests/memcheck.py
