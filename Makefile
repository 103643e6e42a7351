# sluice: build, test and install.  See README.md.
#   make            build bin/sluice and libexec/sluice/* in place
#   make check      set up, build with ASan+UBSan, run every test
#   make demo       set up, build, run the flagship example
include config.mk

LIB_SRC   = src/lib/xalloc.c src/lib/buf.c src/lib/json.c src/lib/digest.c \
            src/lib/cache.c src/lib/spill.c \
            src/lib/util.c src/lib/inflect.c src/lib/rec.c src/lib/tmpl.c
LIB_OBJ   = $(LIB_SRC:.c=.o)
LIB       = src/lib/libsluice.a

SLUICE_SRC != ls src/sluice/*.c
SLUICE_OBJ = $(SLUICE_SRC:.c=.o)
COORD_OBJ  = $(filter-out src/sluice/main.o,$(SLUICE_OBJ))
COORD      = src/sluice/libcoord.a

# one stage per directory src/stages/NAME/ -> libexec/sluice/NAME
STAGES    != ls src/stages 2>/dev/null
STAGE_BIN  = $(STAGES:%=libexec/sluice/%)
STAGE_SRC != ls src/stages/*/*.c 2>/dev/null
STAGE_OBJ  = $(STAGE_SRC:.c=.o)
# extra libraries per stage (only what each program uses); introspect
# links only the libraries it calls (not libm), and libbsd's archive
# (four small functions): two shared libraries fewer to load, about
# 250 KiB less memory at start-up
LIBS_introspect = -Wl,--as-needed -Wl,-Bstatic $(BSD_LIBS) -lmd -Wl,-Bdynamic
# stages that dlopen(3) a library stay dynamic (static glibc cannot load
# one); the rest follow STATIC (config.mk), which needs libbsd's -lmd
DYNAMIC_introspect = yes
STATIC_LIBS != test -z "$(STATIC)" || echo -lmd
# a static program's code in the order of mk/hot/PROGRAM.ld: what it
# runs first, in few pages (mk/hotlist.sh says why and regenerates them)
HOT_LD      = $(if $(wildcard mk/hot/$(@F).ld),-Wl$(,)-T$(,)mk/hot/$(@F).ld)
LINK_STATIC = $(STATIC) $(if $(STATIC),$(HOT_LD))
, := ,

UNIT_SRC  != ls test/unit/t-*.c 2>/dev/null
UNIT_BIN   = $(UNIT_SRC:.c=)

MAN1 != ls man/man1/*.1 2>/dev/null
MAN5 != ls man/man5/*.5 2>/dev/null
MAN7 != ls man/man7/*.7 2>/dev/null

ALL_OBJ = $(LIB_OBJ) $(SLUICE_OBJ) $(STAGE_OBJ)

all: bin/sluice $(STAGE_BIN)

# rebuild everything when the compile line changes (SANITIZE, CFLAGS)
.build-flags: FORCE
	@echo '$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(LDLIBS) $(STATIC)' > .build-flags.new; \
	if cmp -s .build-flags.new .build-flags; then rm -f .build-flags.new; \
	else mv .build-flags.new .build-flags; fi
FORCE:

.SUFFIXES: .c .o
.c.o:
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(ALL_OBJ) $(UNIT_BIN): .build-flags

$(LIB): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(COORD): $(COORD_OBJ)
	rm -f $@
	ar rcs $@ $(COORD_OBJ)

bin/sluice: src/sluice/main.o $(COORD) $(LIB) $(wildcard mk/hot/sluice.ld)
	@mkdir -p bin
	$(CC) $(LDFLAGS) $(LINK_STATIC) -o $@ src/sluice/main.o $(COORD) $(LIB) \
	    $(LDLIBS) $(STATIC_LIBS) -lm

.SECONDEXPANSION:
libexec/sluice/%: $$(addsuffix .o,$$(basename $$(wildcard src/stages/$$*/*.c))) $(LIB) $$(wildcard mk/hot/$$*.ld)
	@mkdir -p libexec/sluice
	$(CC) $(LDFLAGS) $(if $(DYNAMIC_$*),,$(LINK_STATIC)) -o $@ $(filter %.o,$^) \
	    $(LIB) $(LIBS_$*) $(LDLIBS) $(if $(DYNAMIC_$*),,$(STATIC_LIBS)) -lm

# t-pgwire compares introspect's URL reader with libpq's
UNIT_LIBS_t-pgwire = -lpq -lmd
test/unit/t-%: test/unit/t-%.c $(COORD) $(LIB)
	$(CC) $(CPPFLAGS) -Isrc/sluice $(CFLAGS) $(LDFLAGS) -o $@ $< \
	    $(COORD) $(LIB) $(UNIT_LIBS_$(@F)) $(LDLIBS) -lm

unit: $(UNIT_BIN)

deps:
	@sh mk/deps.sh

check: deps
	$(MAKE) SANITIZE=address,undefined WERROR=-Werror all unit
	$(MAKE) lint
	sh mk/check.sh

lint:
	@sh mk/lint.sh

demo: deps all
	@sh mk/demo.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/sluice \
	    $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man5 \
	    $(DESTDIR)$(MANPREFIX)/man7 $(DESTDIR)$(DATADIR)
	cp -f bin/sluice $(DESTDIR)$(BINDIR)/sluice
	for s in $(STAGES); do \
	    cp -f libexec/sluice/$$s $(DESTDIR)$(LIBEXECDIR)/sluice/$$s; done
	for m in $(MAN1) $(MAN5) $(MAN7); do \
	    cp -f $$m $(DESTDIR)$(MANPREFIX)/$${m#man/}; done
	cp -R examples $(DESTDIR)$(DATADIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/sluice
	for s in $(STAGES); do rm -f $(DESTDIR)$(LIBEXECDIR)/sluice/$$s; done
	-rmdir $(DESTDIR)$(LIBEXECDIR)/sluice
	for m in $(MAN1) $(MAN5) $(MAN7); do \
	    rm -f $(DESTDIR)$(MANPREFIX)/$${m#man/}; done
	rm -rf $(DESTDIR)$(DATADIR)

dist: clean
	git archive --format=tar.gz --prefix=sluice-$(VERSION)/ \
	    -o sluice-$(VERSION).tar.gz HEAD

clean:
	rm -f $(ALL_OBJ) $(ALL_OBJ:.o=.d) $(LIB) $(COORD) bin/sluice $(STAGE_BIN) \
	    $(UNIT_BIN) .build-flags man/mandoc.db
	rm -rf test/fuzz/*.o test/fuzz/fuzz-schemarb test/fuzz/fuzz-sql \
	    test/fuzz/fuzz-sqlfile test/fuzz/fuzz-pgwire

.PHONY: all deps check lint demo install uninstall dist clean unit FORCE

-include $(ALL_OBJ:.o=.d)

# --- introspect: fuzzing (make fuzz) -------------------------------------
# libFuzzer targets for the schema.rb tokenizer and parser (seeded from
# test/fuzz/corpus-schemarb and the test data) and the SQL tokenizer and
# structure.sql parser (test/fuzz/corpus-sql and test/data/sql), the
# SQLite file reader (test/fuzz/corpus-sqlfile: small databases) and
# the PostgreSQL protocol client (test/fuzz/corpus-pgwire: servers),
# FUZZTIME seconds each (default 600).
# New inputs go to FUZZWORK (outside the tree); crashes to
# test/fuzz/findings/, to be added to the corpus with a test.
FUZZ_LIB  = src/stages/introspect/model.c src/stages/introspect/record.c \
            src/lib/xalloc.c src/lib/buf.c src/lib/json.c src/lib/inflect.c \
            src/lib/util.c src/lib/spill.c
FUZZ_HDR  = src/stages/introspect/introspect.h \
            src/stages/introspect/rblex.h src/stages/introspect/sqllex.h
FUZZ_RB   = test/fuzz/fuzz-schemarb.c src/stages/introspect/schemarb.c \
            src/stages/introspect/rblex.c $(FUZZ_LIB)
FUZZ_SQL  = test/fuzz/fuzz-sql.c src/stages/introspect/pgsql.c \
            src/stages/introspect/sqllex.c $(FUZZ_LIB)
FUZZ_SQLFILE = test/fuzz/fuzz-sqlfile.c src/stages/introspect/sqlfile.c \
            $(FUZZ_LIB)
# pgwire.c is included by its target
FUZZ_PGWIRE = test/fuzz/fuzz-pgwire.c src/lib/xalloc.c src/lib/buf.c \
            src/lib/util.c
FUZZTIME  = 600
# the real dumps the tests keep seed the fuzzers too (no copies)
FUZZSEED_schemarb = test/data/schemas test/data/rb
FUZZSEED_sql      = test/data/sql test/data/schemas
FUZZSEED_sqlfile  =
FUZZSEED_pgwire   =
FUZZWORK  = $${TMPDIR:-/tmp}/sluice-fuzz
FUZZCC    = clang -g -O1 -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=all $(CPPFLAGS) \
            -Isrc/stages/introspect
test/fuzz/fuzz-schemarb: $(FUZZ_RB) $(FUZZ_HDR)
	$(FUZZCC) -o $@ $(FUZZ_RB) $(BSD_LIBS)
test/fuzz/fuzz-sql: $(FUZZ_SQL) $(FUZZ_HDR)
	$(FUZZCC) -o $@ $(FUZZ_SQL) $(BSD_LIBS)
test/fuzz/fuzz-sqlfile: $(FUZZ_SQLFILE) $(FUZZ_HDR) \
            src/stages/introspect/sqlfile.h
	$(FUZZCC) -o $@ $(FUZZ_SQLFILE) $(BSD_LIBS)
test/fuzz/fuzz-pgwire: $(FUZZ_PGWIRE) src/stages/introspect/pgwire.c \
            src/stages/introspect/pgwire.h
	$(FUZZCC) -o $@ $(FUZZ_PGWIRE) -lmd $(BSD_LIBS)
fuzz: fuzz-schemarb fuzz-sql fuzz-sqlfile fuzz-pgwire
fuzz-schemarb fuzz-sql fuzz-sqlfile fuzz-pgwire: $$@-bin
	mkdir -p test/fuzz/findings $(FUZZWORK)/$@
	test/fuzz/$@ -max_total_time=$(FUZZTIME) -max_len=65536 \
	    -artifact_prefix=test/fuzz/findings/ $(FUZZWORK)/$@ \
	    test/fuzz/corpus-$(@:fuzz-%=%) $(FUZZSEED_$(@:fuzz-%=%))
fuzz-schemarb-bin: test/fuzz/fuzz-schemarb
fuzz-sql-bin: test/fuzz/fuzz-sql
fuzz-sqlfile-bin: test/fuzz/fuzz-sqlfile
fuzz-pgwire-bin: test/fuzz/fuzz-pgwire
.PHONY: fuzz fuzz-schemarb fuzz-sql fuzz-sqlfile fuzz-pgwire \
	fuzz-schemarb-bin fuzz-sql-bin fuzz-sqlfile-bin fuzz-pgwire-bin
# --- end introspect fuzzing ----------------------------------------------
