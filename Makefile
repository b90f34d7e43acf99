# rumptools: build, test, install and demonstrate the tools.
#
#   make            build every tool into bin/ and the probe kernels into bin/probe/
#   make test       vet, format check, and every test (QEMU boots included)
#   make demo       the whole pipeline end to end on the built-in example
#   make install    binaries and man pages under $(DESTDIR)$(PREFIX)

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/rumptools
GO      ?= go

# The real rumprun toolchains that tests and the demo use: those .ci/deps
# installs, unless the environment names others. Unset (no such directory),
# the tests that need one skip and say so.
RUMPRUN_TOOLCHAIN     ?= $(wildcard /opt/rumprun/hw)
RUMPRUN_XEN_TOOLCHAIN ?= $(wildcard /opt/rumprun/xen)
export RUMPRUN_TOOLCHAIN RUMPRUN_XEN_TOOLCHAIN

# A tool exists once its directory has a main package: no empty shells.
TOOLS := $(sort $(patsubst %/main.go,%,$(wildcard rump-*/main.go)))
MAN1  := $(wildcard man/*.1)
MAN5  := $(wildcard man/*.5)
MAN7  := $(wildcard man/*.7)

.PHONY: all tools probe test install demo clean FORCE

all: tools probe

tools: $(TOOLS:%=bin/%)

# go build decides itself whether anything changed. Static binaries start
# faster (no dynamic loader; the launchers' start-up is their overhead).
bin/%: FORCE
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./$*

probe:
	$(MAKE) -s -C testdata/probe OUT=$(CURDIR)/bin/probe

test:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -timeout 12m ./...

install: tools
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	for t in $(TOOLS); do install -m 0755 bin/$$t $(DESTDIR)$(BINDIR)/$$t; done
	$(if $(MAN1),install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN5),install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(MAN7),install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
	if [ -f pkg/config/json.cfg.schema.json ]; then \
	  install -d $(DESTDIR)$(DATADIR); \
	  install -m 0644 pkg/config/json.cfg.schema.json $(DESTDIR)$(DATADIR)/; fi

demo: all
	./examples/demo/run

clean:
	rm -rf bin demo-out

FORCE:
