# ledger-docker. `make test` is the one test command (README and .ci/run).
GO        ?= go
BIN       := bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/ledger-docker/ledger-docker/internal/cli.Version=$(VERSION)
export CGO_ENABLED := 0

.PHONY: all build test unit e2e bench images clean vet

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ledger_docker ./wrapper
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/docker-ledger ./plugin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ledger-precommit ./hooks

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
