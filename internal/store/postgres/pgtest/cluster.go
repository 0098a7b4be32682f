package pgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Cluster is a PostgreSQL server of one test's own, for tests that stop and
// start the server under a running program. Tests that only need a database
// use URL, which is cheaper and shares one server.
type Cluster struct {
	bindir, dir, data string
	owner             *syscall.Credential // nil: the cluster runs as this process's user
	port              int
	opts              string // postgres options besides the address and port
}

// NewCluster creates and starts a cluster of t's own, listening on a free
// 127.0.0.1 port, and stops and removes it when t ends. It skips or fails t
// where there are no server binaries, as the package doc says; a server
// named by BURSAR_TEST_POSTGRES_URL is no help here, since the test must be
// able to stop it.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bindir, err := findBindir()
	switch {
	case err != nil && !required():
		fmt.Fprintf(os.Stderr, "\n!!! pgtest: SKIPPING A TEST OF ITS OWN POSTGRESQL SERVER: %v. Install postgresql. !!!\n\n", err)
		t.Skip("no PostgreSQL server binaries")
	case err != nil:
		t.Fatalf("pgtest: %v", err)
	}
	// Not t.TempDir: when running as root the cluster's owner must be able
	// to reach the folder, and t.TempDir's parents are private to us.
	dir, err := os.MkdirTemp("", "bursar-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { //nolint:gosec // G302: the postgres user must enter it; it holds no secret
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	c, err := createCluster(bindir, dir, "")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := c.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// The reaper covers a test binary that dies before its cleanups run.
	if err := startReaper(c.owner, bindir, dir, c.data); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := c.pgctl("-m", "immediate", "stop"); err != nil {
			t.Errorf("pgtest: stop the cluster: %v", err)
		}
	})
	return c
}

// URL returns the URL of the cluster's postgres database. It stays the same
// across Stop and Start.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Stop stops the server as an operator would (pg_ctl stop -m fast): open
// sessions are ended and their transactions rolled back. It returns once the
// server is down.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if err := c.pgctl("-m", "fast", "stop"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Start starts the server again on the same port, and returns once it
// accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if err := c.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

func (c *Cluster) start() error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s %s", c.port, c.dir, c.opts)
	if err := c.pgctl("-l", filepath.Join(c.dir, "log"), "-t", "60", "-o", opts, "start"); err != nil {
		b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("%w\nserver log:\n%s", err, b)
	}
	return nil
}

// pgctl runs pg_ctl on the cluster, waiting for the action to complete.
func (c *Cluster) pgctl(args ...string) error {
	return run(c.owner, c.dir, filepath.Join(c.bindir, "pg_ctl"), append([]string{"-D", c.data, "-w"}, args...)...)
}
