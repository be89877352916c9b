# pmdeflate: the two commands of the README, and the pieces they use.
#   make demo   build the library, run the in-process C demo, then the C echo
#               server and client against each other over loopback
#   make test   install what the tests need (idempotent) and run every suite

CC     ?= cc
CFLAGS ?= -O2
LIBDIR := target/release

.PHONY: all lib demo test clean

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

clean:
	cargo clean
	$(MAKE) -C examples-c clean
