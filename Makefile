# pmdeflate: the two commands of the README, and the pieces they use.
#   make demo   build the library, run the in-process C demo, then the C echo
#               server and client against each other over loopback
#   make test   install what the tests need (idempotent) and run every suite
#   make        build the libraries to install; make install PREFIX=... DESTDIR=...
#               installs them (mk/install.mk); neither installs system packages

CC     ?= cc
CFLAGS ?= -O2
LIBDIR := target/release

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

.PHONY: all lib demo test clean

all: dist

lib:
	cargo build --release

$(LIBDIR)/demo: examples-c/demo.c include/pmdeflate.h lib
	$(CC) -std=c99 -Wall -Wextra -Werror -pedantic $(CFLAGS) -Iinclude -o $@ examples-c/demo.c \
	    -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -lpmdeflate

demo:
	./scripts/setup-build-env.sh
	$(MAKE) $(LIBDIR)/demo
	./$(LIBDIR)/demo
	$(MAKE) -C examples-c demo-loopback

test:
	./scripts/test.sh

clean:
	cargo clean
	$(MAKE) -C examples-c clean

include mk/install.mk
