# Bursar's developer targets. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO        ?= go
FUZZTIME  ?= 30s
BENCHTIME ?= 2s
LINT      := bin/golangci-lint

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## run the service on the embedded SQLite database in ./data
	$(GO) run ./cmd/bursar serve

.PHONY: build
build: ## build a static bin/bursar
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/bursar ./cmd/bursar

.PHONY: test
test: ## run every test, on SQLite and a throwaway PostgreSQL, with the race detector
	$(GO) test -race -count=1 ./...

.PHONY: test-postgres
test-postgres: ## like test, but fail instead of skipping when PostgreSQL is missing
	BURSAR_REQUIRE_POSTGRES=1 $(GO) test -race -count=1 ./...

.PHONY: fmt
fmt: ## format the code
	gofmt -w cmd internal

.PHONY: lint
lint: $(LINT) ## go vet, gofmt check and golangci-lint (with the dependency rules)
	$(GO) vet ./...
	@test -z "$$(gofmt -l cmd internal)" || { gofmt -l cmd internal; echo "gofmt: the files above need formatting"; exit 1; }
	$(LINT) run ./...

$(LINT): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o ../$(LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

.PHONY: verify
verify: ## go.mod tidy, migration lists equal on both engines
	$(GO) mod tidy -diff
	@diff <(ls internal/store/postgres/migrations) <(ls internal/store/sqlite/migrations) \
		|| { echo "the two engines' migration lists differ"; exit 1; }

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "$$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

.PHONY: bench
bench: ## run the benchmarks on both databases (BENCHTIME per case)
	$(GO) test -run='^$$' -bench=. -benchtime=$(BENCHTIME) ./...

.PHONY: clean
clean: ## remove built binaries and the local data dir
	rm -rf bin data
