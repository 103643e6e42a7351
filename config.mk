# config.mk: paths and flags; included by Makefile.  Override on the
# command line: make PREFIX=/usr DESTDIR=/tmp/pkg install
VERSION    = 0.1.0

CC         = cc
PREFIX     = /usr/local
BINDIR     = $(PREFIX)/bin
LIBEXECDIR = $(PREFIX)/libexec
MANPREFIX  = $(PREFIX)/share/man
DATADIR    = $(PREFIX)/share/sluice

BSD_CFLAGS != pkg-config --cflags libbsd-overlay 2>/dev/null || echo -DLIBBSD_OVERLAY -isystem /usr/include/bsd
BSD_LIBS   != pkg-config --libs libbsd-overlay 2>/dev/null || echo -lbsd

# SANITIZE=address,undefined builds every program with the sanitizers
SANITIZE   =
SANFLAGS   != test -z "$(SANITIZE)" || echo "-fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer"
WERROR     =
# programs that load no library at run time are linked statically, unless
# sanitizing (ASan cannot): no dynamic loader at each start and about half
# the resident memory of a stage.  `make STATIC=` links them dynamically.
STATIC     != test -n "$(SANITIZE)" || echo -static-pie

CPPFLAGS   = -D_GNU_SOURCE -DVERSION=\"$(VERSION)\" \
             -DLIBEXECDIR=\"$(LIBEXECDIR)\" $(BSD_CFLAGS) -Isrc/lib
CFLAGS     = -std=c11 -O2 -g -Wall -Wextra -Wshadow -Wwrite-strings \
             -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
             $(WERROR) $(SANFLAGS)
LDFLAGS    = $(SANFLAGS)
LDLIBS     = $(BSD_LIBS) -lxxhash
