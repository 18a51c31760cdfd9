# infractl: the two set-up commands for a newcomer are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/infractl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/infractl/infractl/internal/buildinfo.Version=$(VERSION)
# docker compose v5.6.0 (built by `make tools`) lives in a project-local config.
COMPOSE_DOCKER_CONFIG := $(CURDIR)/.tools/docker
DEMO := testdata/compose/demo
DEMO_FLAGS := -f $(DEMO)/compose.yaml --env-file $(DEMO)/.env.example -p infractl-demo

.PHONY: all build images tools test unit e2e lint demo demo-down bench clean release

all: build

build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/infractl

# Static binaries for linux, darwin and windows on amd64 and arm64, their
# archives and SHA256SUMS, in dist/.
release:
	bash scripts/release.sh

images:
	GO_LDFLAGS="$(LDFLAGS)" bash images/build.sh

tools:
	bash tools/build-compose.sh

# Unit and end-to-end tests. End-to-end tests use the real Docker engine and
# the local images (built here when missing or changed).
test: unit e2e

unit:
	$(GO) test -race -count=1 ./...

e2e: images tools
	bash scripts/e2e-deps.sh
	INFRACTL_COMPOSE_DOCKER_CONFIG=$(COMPOSE_DOCKER_CONFIG) CI=$${CI:-true} \
		$(GO) test -tags e2e -count=1 -timeout 45m -v ./e2e/... 2>&1 | tee .e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)' ; exit $${PIPESTATUS[0]}

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e/...
	@# Every platform Docker runs on builds, vets and compiles its unit tests.
	for os in darwin windows; do \
		GOOS=$$os CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/infractl && \
		GOOS=$$os $(GO) vet ./... && \
		d=$$(mktemp -d) && GOOS=$$os $(GO) test -c -o $$d/ ./... >/dev/null && rm -rf $$d || exit 1; \
	done
	$(GO) tool staticcheck ./...
	$(GO) mod tidy -diff
	cd bench && $(GO) vet ./... && $(GO) mod tidy -diff

demo: images build
	bash scripts/demo.sh

demo-down: build
	$(BIN) down -v $(DEMO_FLAGS)

bench: images tools build
	bash bench/run.sh

clean:
	rm -rf bin dist .e2e.log
