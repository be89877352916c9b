# pmdeflate: the two commands of the README, and the pieces they use.
#   make demo   build the library, run the in-process C demo, then the C echo
#               server and client against each other over loopback
#   make test   install what the tests need (idempotent) and run every suite

CC     ?= cc
CFLAGS ?= -O2
LIBDIR := target/release

PREFIX ?= /usr/local
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

.PHONY: all lib demo test install clean

all: lib

lib:
	./scripts/setup-build-env.sh
	cargo build --release

$(LIBDIR)/demo: examples-c/demo.c include/pmdeflate.h lib
	$(CC) -std=c99 -Wall -Wextra -Werror -pedantic $(CFLAGS) -Iinclude -o $@ examples-c/demo.c \
	    -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpmdeflate

demo: $(LIBDIR)/demo
	./$(LIBDIR)/demo
	$(MAKE) -C examples-c demo-loopback

test:
	./scripts/test.sh

# Installs the libraries, the header and a pkg-config file under PREFIX.
install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 0644 include/pmdeflate.h $(DESTDIR)$(PREFIX)/include/
	install -d $(DESTDIR)$(PREFIX)/include/pmdeflate
	install -m 0644 include/pmdeflate.hpp $(DESTDIR)$(PREFIX)/include/
	install -m 0644 include/pmdeflate/websocketpp.hpp $(DESTDIR)$(PREFIX)/include/pmdeflate/
	install -m 0755 $(LIBDIR)/libpmdeflate.so $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 $(LIBDIR)/libpmdeflate.a $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' pmdeflate.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pmdeflate.pc

clean:
	cargo clean
	$(MAKE) -C examples-c clean
