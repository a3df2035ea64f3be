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

# Debian packages the build, the tests and the QEMU rig need.
DEB_PACKAGES := gcc make pkg-config libdevmapper-dev dmsetup keyutils e2fsprogs \
	qemu-system-x86 qemu-system-arm linux-image-amd64 linux-headers-amd64 busybox-static \
	cpio udev kmod systemd shellcheck xz-utils \
	gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu libc6-dev-armhf-cross libc6-dev-arm64-cross qemu-user

print-deb-packages:
	@echo $(DEB_PACKAGES)

.PHONY: print-deb-packages all build test unit vmtest demo bench caamsim deps vet fmt clean cross-arm64 cross-armhf

all: build

build:
	CGO_ENABLED=1 $(GO) build $(GOFLAGS) -o $(BIN)/caamcrypt ./cmd/caamcrypt

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
	CAAMCRYPT_CROSS=required $(GO) test -count=1 ./...

caamsim:
	$(MAKE) -C test/caamsim KDIR=$(KDIR)

vmtest: build caamsim
	CAAMCRYPT_VM=required $(GO) test -count=1 -v -timeout 60m ./test/vm/ 2>&1 | tee $(BIN)/vmtest.log | grep -E '^\s*(=== RUN|--- |PASS|FAIL|ok|vm:)' ; exit $${PIPESTATUS[0]}

test: deps unit vmtest

demo: deps build caamsim
	CAAMCRYPT_VM=required $(GO) run ./test/vm/cmd/demo

bench: deps build caamsim
	CAAMCRYPT_VM=required $(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./...

cross-arm64:
	CGO_ENABLED=1 GOARCH=arm64 CC=aarch64-linux-gnu-gcc PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig \
		$(GO) build -o $(BIN)/caamcrypt-arm64 ./cmd/caamcrypt

cross-armhf:
	CGO_ENABLED=1 GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc PKG_CONFIG_PATH=/usr/lib/arm-linux-gnueabihf/pkgconfig \
		$(GO) build -o $(BIN)/caamcrypt-armhf ./cmd/caamcrypt

clean:
	rm -rf $(BIN)
	-$(MAKE) -C test/caamsim KDIR=$(KDIR) clean
