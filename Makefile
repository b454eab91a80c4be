# ledger-docker. `make test` is the one test command (README and .ci/run).
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/ledger-docker/ledger-docker/internal/version.Version=$(VERSION)
TIMEOUT   ?= 25m
# PKGS narrows test runs: make test PKGS=./internal/backup/...
PKGS      ?= ./...
export CGO_ENABLED := 0
SHELL     := bash

# Benchmark programs `make bench` runs, one line each; every program prints
# its own figures and ratios and exits non-zero when a target is missed.
BENCHES :=
# BENCHES += ./internal/bench/<name>
BENCHES += ./internal/bench/check
BENCHES += ./internal/bench/wrapper
BENCHES += ./internal/bench/backup

# The C front (wrapper/front): bin/ledger_docker, static, no libraries.
# musl-gcc (Debian's musl-tools) when there is one: a static musl program
# starts in about 0.3 ms less than a static glibc one, a few percent of a
# `docker ps`; else $(CC), with glibc. FRONT_CC overrides both.
CC        ?= cc
FRONT_CC  ?= $(shell command -v musl-gcc 2>/dev/null || echo $(CC))
FRONT_CFLAGS := -std=c11 -Os -static -Wall -Wextra -Werror

.PHONY: all build build-go front test unit e2e bench images clean vet demo lint

all: build

build: build-go front

# The Go binaries; the Go wrapper is ledger_docker-full, which the front
# hands every command line to that may delete something.
build-go:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ledger_docker-full ./wrapper
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/docker-ledger ./plugin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ledger-precommit ./hooks

front:
	@command -v $(firstword $(FRONT_CC)) >/dev/null || { echo "make: no C compiler ($(FRONT_CC)) for bin/ledger_docker (wrapper/front): install gcc and libc6-dev (and musl-tools), or set CC" >&2; exit 1; }
	@mkdir -p $(BIN)
	$(FRONT_CC) $(FRONT_CFLAGS) -o $(BIN)/ledger_docker wrapper/front/ledger_docker.c

# gotest runs `go test -json` through testsummary: plain go test output per
# package, every failed test's output, one summary line, and the exit status.
define gotest
	@$(GO) build -o $(BIN)/testsummary ./internal/testenv/testsummary
	@set -o pipefail; $(GO) test -count=1 -timeout $(TIMEOUT) -json $(PKGS) 2>&1 | $(BIN)/testsummary
endef

# Unit and end-to-end tests; e2e tests fail when no engine answers. The
# prerequisites come first (.ci/bootstrap: packages, Go, the engine, the
# Compose and Buildx plugins, the test images); BOOTSTRAP=0 skips them.
BOOTSTRAP ?= 1
test:
ifneq ($(BOOTSTRAP),0)
	@bash .ci/bootstrap
endif
	$(gotest)

# Unit tests only (end-to-end tests skip, on purpose).
unit: export LEDGER_E2E := 0
unit:
	$(gotest)

# End-to-end tests are part of `make test`; this target insists on them.
e2e: export LEDGER_E2E := 1
e2e:
	$(gotest)

# Prebuild the e2e images (PostgreSQL 15, Django, idle).
images:
	$(GO) test -count=1 -run '^TestImages$$' -v ./internal/testenv/

# The main job on the sample app, offline, start to finish (README, "Set
# up"): prerequisites, binaries and images first. DEMO_KEEP=1 keeps the
# demo's project.
demo:
	@bash .ci/bootstrap --demo
	@$(MAKE) --no-print-directory build >/dev/null
	@bash testdata/demo/demo.sh

bench: build
	@failed=0; for b in $(BENCHES); do echo "== bench $$b"; $(GO) run $$b || failed=1; done; \
	if [ -z "$(strip $(BENCHES))" ]; then echo "no benchmarks listed in BENCHES"; fi; exit $$failed

vet:
	$(GO) vet ./...

# Static checks (.ci/run runs them): gofmt, go vet, staticcheck, functions nothing
# reaches (deadcode, tests included), and go.mod as go mod tidy leaves it.
# The tools are installed at these versions into $(BIN)/tools.
STATICCHECK_VERSION := v0.8.2
XTOOLS_VERSION      := v0.45.0
TOOLS := $(abspath $(BIN))/tools
lint:
	@mkdir -p $(TOOLS)
	@test -x $(TOOLS)/staticcheck || GOFLAGS= GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x $(TOOLS)/deadcode || GOFLAGS= GOBIN=$(TOOLS) $(GO) install golang.org/x/tools/cmd/deadcode@$(XTOOLS_VERSION)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "$$out"; echo "gofmt: not formatted (above)"; exit 1; fi
	$(GO) vet ./...
	$(TOOLS)/staticcheck ./...
	@out=$$($(TOOLS)/deadcode -test ./...); if [ -n "$$out" ]; then echo "$$out"; echo "deadcode: functions nothing reaches (above)"; exit 1; fi
	$(GO) mod tidy -diff

clean:
	rm -rf $(BIN)
