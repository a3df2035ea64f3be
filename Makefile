SHELL := /bin/bash
# caamcrypt — build, test and demo.
#
# `make test` and `make demo` install what they need on a Debian 12 machine
# first (target deps, needs root), so each is one command on a fresh machine.

GO        ?= go
BIN       := bin
GOFLAGS   ?=
KVER      ?= $(shell ls -1 /lib/modules 2>/dev/null | grep -- '-amd64$$' | sort -V | tail -n 1)
KDIR      ?= /lib/modules/$(KVER)/build
# Stamped into every binary (main.version): git describe, or "unknown"
# outside a git checkout; override with `make VERSION=...`. Expanded once,
# so all binaries of one make run carry the same version.
VERSION   ?= $(shell packaging/cross/version.sh)
VERSION   := $(VERSION)
GO_LDFLAGS := -X main.version=$(VERSION)
# Build tags of every shipped binary: urfave/cli without its man/markdown
# generators (blackfriday, md2man), which the program never calls; they
# cost 0.33 MB and most of the start-up's package init time.
GO_TAGS   ?= urfave_cli_no_docs

# Debian packages the build, the tests and the QEMU rig need.
DEB_PACKAGES := gcc make pkg-config libdevmapper-dev dmsetup keyutils e2fsprogs \
	qemu-system-x86 qemu-system-arm qemu-utils linux-image-amd64 linux-headers-amd64 busybox-static \
	cpio udev kmod systemd shellcheck xz-utils \
	gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu libc6-dev-armhf-cross libc6-dev-arm64-cross qemu-user

# make yocto-check: real BitBake from the read-only snapshots (CI has them
# beside the clone), with the host tools its sanity check wants.
YOCTO_SNAPSHOTS ?= $(CURDIR)/../shared/yocto
YOCTO_DEB_PACKAGES := gawk wget git diffstat unzip texinfo gcc build-essential chrpath socat \
	cpio python3 python3-pexpect python3-git python3-jinja2 python3-subunit xz-utils zstd lz4 \
	file locales

print-deb-packages:
	@echo $(DEB_PACKAGES)

.PHONY: print-deb-packages print-version all build man install test unit fuzz fuzz-smoke vmtest yocto-deps yocto-check yocto-update-modules demo bench bench-smoke caamsim deps vet fmt clean cross cross-arm64 cross-armhf reliability

all: build

build:
	CGO_ENABLED=1 $(GO) build $(GOFLAGS) -trimpath -tags "$(GO_TAGS)" -ldflags "$(GO_LDFLAGS)" -o $(BIN)/caamcrypt ./cmd/caamcrypt

print-version:
	@echo $(VERSION)

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	$(GO) mod download

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: files need formatting"; exit 1; }
	$(GO) vet ./...

unit: vet
	CAAMCRYPT_CROSS=required $(GO) test -count=1 -timeout 60m ./...

caamsim:
	$(MAKE) -C test/caamsim KDIR=$(KDIR)

vmtest: build caamsim
	CAAMCRYPT_VM=required $(GO) test -count=1 -v -timeout 60m ./test/vm/ 2>&1 | tee $(BIN)/vmtest.log | grep -E '^\s*(=== RUN|--- |PASS|FAIL|ok|vm:)' ; rc=$${PIPESTATUS[0]}; \
	$(GO) run ./test/reliability/cmd/table < $(BIN)/vmtest.log; exit $$rc

# The long reliability run (crash states, power cuts, I/O errors and every
# test that prints @@RELIABILITY figures), then one table of the figures
# (also in $(BIN)/reliability.md). Hours on a loaded 2-core machine.
# CAAMCRYPT_VM_RELIABILITY=full: every pause point with every signal, hostile
# cases in both flavours; the fuzz targets run FUZZTIME each into the same log.
reliability: deps build caamsim
	CAAMCRYPT_VM=required CAAMCRYPT_RELIABILITY=long CAAMCRYPT_VM_RELIABILITY=full $(GO) test -count=1 -v -timeout 300m ./... 2>&1 | tee $(BIN)/reliability.log | grep -E '^\s*(--- |FAIL|ok|vm:)' ; rc=$${PIPESTATUS[0]}; \
	test/fuzz/run.sh $(FUZZTIME) 2>&1 | tee -a $(BIN)/reliability.log | grep '@@RELIABILITY' ; [ $${PIPESTATUS[0]} = 0 ] || rc=1; \
	$(GO) run ./test/reliability/cmd/table < $(BIN)/reliability.log | tee $(BIN)/reliability.md; exit $$rc

test: deps unit fuzz-smoke vmtest bench-smoke yocto-check

# Fuzz every parser of outside bytes (test/fuzz/run.sh): briefly in make
# test, FUZZTIME each in make fuzz. Prints @@RELIABILITY|fuzz|... lines.
FUZZTIME ?= 60s
fuzz-smoke:
	test/fuzz/run.sh 5s
fuzz:
	test/fuzz/run.sh $(FUZZTIME)

demo: deps build caamsim
	CAAMCRYPT_VM=required $(GO) run ./test/vm/cmd/demo

# One run of each VM benchmark's code (TestThroughputSmoke covers the
# throughput bench): the figures are not kept, the code is proven to run.
bench-smoke: build caamsim
	CAAMCRYPT_VM=required CAAMCRYPT_BENCH_ITERS=1 CAAMCRYPT_BENCH_DD_ITERS=1 $(GO) test -count=1 -run '^$$' \
		-bench 'OpenVsSeed|UnlockFloor|OpenAllScale|Inplace|SectorSize' -benchtime 1x -timeout 30m ./test/vm/

bench: deps build caamsim
	CAAMCRYPT_VM=required $(GO) test -run '^$$' -bench . -benchmem -timeout 90m ./...

# Cross builds for i.MX8/9 (arm64) and i.MX6/7 (armhf) against a Debian 12
# sysroot that cgo-env.sh fetches without multiarch (test/cross/README.md),
# through the same script as Dockerfile.cross. Each writes
# bin/caamcrypt-ARCH and bin/caamcrypt-ARCH-stripped.
cross: cross-arm64 cross-armhf

cross-arm64 cross-armhf: cross-%:
	@mkdir -p $(BIN)
	test/cross/cgo-env.sh $* >$(BIN)/environment-setup-debian-$*
	VERSION=$(VERSION) GO_TAGS="$(GO_TAGS)" packaging/cross/build.sh $(BIN)/environment-setup-debian-$* $(if $(filter armhf,$*),arm,$*) $(BIN)/caamcrypt-$*

# The manual page is generated from the command definitions (a test keeps
# the committed copy equal to them); the bash completion asks the program.
man:
	$(GO) test -count=1 -run '^TestManPage$$' ./cmd/caamcrypt -update-man

# A Debian-style install: make install DESTDIR=/tmp/root PREFIX=/usr
PREFIX  ?= /usr/local
DESTDIR ?=
install: build
	install -D -m 0755 $(BIN)/caamcrypt $(DESTDIR)$(PREFIX)/bin/caamcrypt
	install -D -m 0644 docs/caamcrypt.8 $(DESTDIR)$(PREFIX)/share/man/man8/caamcrypt.8
	install -D -m 0644 packaging/completion/caamcrypt.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/caamcrypt
	install -D -m 0644 packaging/caamtab.example $(DESTDIR)$(PREFIX)/share/caamcrypt/caamtab.example

yocto-deps:
	@missing=$$(for p in $(YOCTO_DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Parse, fetch and unpack with BitBake, then an offline host-Go build of the
# unpacked tree: test/yocto/README.md.
yocto-check: yocto-deps
	YOCTO_SNAPSHOTS=$(YOCTO_SNAPSHOTS) GO=$$(command -v $(GO)) test/yocto/check.sh check

# Regenerate the recipe's caamcrypt-go-mods.inc and caamcrypt-licenses.inc.
yocto-update-modules: yocto-deps
	YOCTO_SNAPSHOTS=$(YOCTO_SNAPSHOTS) GO=$$(command -v $(GO)) test/yocto/check.sh update-modules

clean:
	rm -rf $(BIN)
	-$(MAKE) -C test/caamsim KDIR=$(KDIR) clean
