// Package layers holds no code: its test enforces the dependency direction
// between Bursar's packages (see the table in layers_test.go), so the layout
// is kept by a tool and not only by prose. .golangci.yml states the same
// rules for depguard; this test runs with every `go test ./...`, where no
// linter binary is needed.
package layers
