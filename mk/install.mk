# Building and installing pmdeflate as a C library (included by the Makefile;
# docs/install.md explains the layout and why this is a Makefile, not cargo-c).
#   make dist                                   build target/dist/release/libpmdeflate.{so,a}
#   make install [PREFIX=/usr/local] [DESTDIR=] install them, the header, pmdeflate.pc
#                                               and the CMake package
#   make uninstall [PREFIX=...] [DESTDIR=]      remove what install installed
# Neither builds as root anything that `make` did not build, nor installs
# system packages: scripts/setup-build-env.sh does that, separately.

PREFIX       ?= /usr/local
libdir       ?= $(PREFIX)/lib
includedir   ?= $(PREFIX)/include
pkgconfigdir ?= $(libdir)/pkgconfig
cmakedir     ?= $(libdir)/cmake/pmdeflate
docdir       ?= $(PREFIX)/share/doc/pmdeflate

VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION)))
REAL_NAME     := libpmdeflate.so.$(VERSION)
SONAME        := libpmdeflate.so.$(VERSION_MAJOR)
DIST          := target/dist/release

# For the relocatable CMake package: the prefix, seen from cmakedir.
CMAKE_TO_PREFIX = $(shell realpath -m --relative-to='$(cmakedir)' '$(PREFIX)')
PREFIX_TO_LIB   = $(shell realpath -m --relative-to='$(PREFIX)' '$(libdir)')
PREFIX_TO_INC   = $(shell realpath -m --relative-to='$(PREFIX)' '$(includedir)')

.PHONY: dist install uninstall

dist:
	./scripts/build-dist.sh

# Installs what `make` built, without running cargo (so that `make` as a
# user and then `sudo make install` works where root has no Rust toolchain);
# refuses when nothing was built or the sources changed since. The paths
# written into pmdeflate.pc are without DESTDIR; the CMake package finds
# its files relative to itself.
install:
	@for f in libpmdeflate.so libpmdeflate.a native-static-libs; do \
	    [ -f $(DIST)/$$f ] || { echo "install: no $(DIST)/$$f: run make first" >&2; exit 1; }; \
	done
	@newer="$$(find src include build.rs cbindgen.toml Cargo.toml Cargo.lock -type f ! -name '*.hpp' \
	    -newer $(DIST)/native-static-libs | head -n 1)"; \
	[ -z "$$newer" ] || { echo "install: $$newer changed since the last build: run make first" >&2; exit 1; }
	install -d '$(DESTDIR)$(libdir)' '$(DESTDIR)$(includedir)' '$(DESTDIR)$(pkgconfigdir)' \
	    '$(DESTDIR)$(cmakedir)' '$(DESTDIR)$(docdir)'
	install -m 0755 $(DIST)/libpmdeflate.so '$(DESTDIR)$(libdir)/$(REAL_NAME)'
	ln -sfn $(REAL_NAME) '$(DESTDIR)$(libdir)/$(SONAME)'
	ln -sfn $(SONAME) '$(DESTDIR)$(libdir)/libpmdeflate.so'
	install -m 0644 $(DIST)/libpmdeflate.a '$(DESTDIR)$(libdir)/libpmdeflate.a'
	install -m 0644 include/pmdeflate.h '$(DESTDIR)$(includedir)/pmdeflate.h'
	install -d '$(DESTDIR)$(includedir)/pmdeflate'
	install -m 0644 include/pmdeflate.hpp '$(DESTDIR)$(includedir)/pmdeflate.hpp'
	install -m 0644 include/pmdeflate/websocketpp.hpp '$(DESTDIR)$(includedir)/pmdeflate/websocketpp.hpp'
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(libdir)|' -e 's|@INCLUDEDIR@|$(includedir)|' \
	    -e 's|@VERSION@|$(VERSION)|' \
	    -e "s|@LIBS_PRIVATE@|$$(sed -e 's/-lz\b *//' $(DIST)/native-static-libs)|" \
	    pmdeflate.pc.in > '$(DESTDIR)$(pkgconfigdir)/pmdeflate.pc'
	sed -e 's|@CMAKE_TO_PREFIX@|$(CMAKE_TO_PREFIX)|' -e 's|@PREFIX_TO_LIB@|$(PREFIX_TO_LIB)|' \
	    -e 's|@PREFIX_TO_INC@|$(PREFIX_TO_INC)|' -e 's|@REAL_NAME@|$(REAL_NAME)|' \
	    -e 's|@SONAME@|$(SONAME)|' \
	    -e "s|@STATIC_LIBS@|$$(sed -e 's/-lz\b *//' -e 's/-l//g' -e 's/ *$$//' -e 's/ \+/;/g' $(DIST)/native-static-libs)|" \
	    cmake/pmdeflate-config.cmake.in > '$(DESTDIR)$(cmakedir)/pmdeflate-config.cmake'
	sed -e 's|@VERSION@|$(VERSION)|' \
	    cmake/pmdeflate-config-version.cmake.in > '$(DESTDIR)$(cmakedir)/pmdeflate-config-version.cmake'
	install -m 0644 README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE docs/abi-policy.md \
	    '$(DESTDIR)$(docdir)/'

uninstall:
	rm -f '$(DESTDIR)$(libdir)/$(REAL_NAME)' '$(DESTDIR)$(libdir)/$(SONAME)' \
	    '$(DESTDIR)$(libdir)/libpmdeflate.so' '$(DESTDIR)$(libdir)/libpmdeflate.a' \
	    '$(DESTDIR)$(includedir)/pmdeflate.h' '$(DESTDIR)$(pkgconfigdir)/pmdeflate.pc' \
	    '$(DESTDIR)$(includedir)/pmdeflate.hpp' '$(DESTDIR)$(includedir)/pmdeflate/websocketpp.hpp' \
	    '$(DESTDIR)$(cmakedir)/pmdeflate-config.cmake' \
	    '$(DESTDIR)$(cmakedir)/pmdeflate-config-version.cmake'
	rm -f $(addprefix '$(DESTDIR)$(docdir)'/,README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE abi-policy.md)
	-rmdir '$(DESTDIR)$(cmakedir)' '$(DESTDIR)$(docdir)' '$(DESTDIR)$(includedir)/pmdeflate' 2>/dev/null
