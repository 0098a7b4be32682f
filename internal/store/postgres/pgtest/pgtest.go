// Package pgtest gives tests a real PostgreSQL server. Unless
// BURSAR_TEST_POSTGRES_URL names one, it starts a throwaway cluster from the
// server binaries installed on the machine (initdb and pg_ctl into a temporary
// folder, as the postgres user when running as root, listening on a free
// 127.0.0.1 port). All test binaries of one `go test` run share that cluster:
// the first to need it starts it, under a file lock, and a detached reaper
// stops and removes it once the go command that ran them has exited.
//
// Each test gets its own schema, dropped when the test ends. A test that
// stops and starts the server under a running program gets a cluster of its
// own from NewCluster instead.
//
// Where no server binaries are installed the PostgreSQL tests skip with one
// loud line, unless CI=true or BURSAR_REQUIRE_POSTGRES=1, when they fail.
//
// Import it only from tests.
package pgtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	once      sync.Once
	serverURL string
	errSetup  error
)

// errNoServer means the machine has no PostgreSQL server binaries.
var errNoServer = errors.New("no PostgreSQL server binaries found (looked for pg_config --bindir and /usr/lib/postgresql/*/bin)")

// URL returns the URL of a new, empty schema on the test server. The schema
// is dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	schema := "t_" + strings.ToLower(rand.Text()[:16])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", base, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: the server URL must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// ServerURL returns the URL of the shared test server, starting it if needed,
// or skips or fails t as the package doc says.
func ServerURL(t testing.TB) string {
	t.Helper()
	once.Do(func() { serverURL, errSetup = start() })
	switch {
	case errors.Is(errSetup, errNoServer) && !required():
		fmt.Fprintf(os.Stderr, "\n!!! pgtest: SKIPPING POSTGRESQL TESTS: %v. Install postgresql or set BURSAR_TEST_POSTGRES_URL. !!!\n\n", errSetup)
		t.Skip("no PostgreSQL server available")
	case errSetup != nil:
		t.Fatalf("pgtest: %v", errSetup)
	}
	return serverURL
}

func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("BURSAR_REQUIRE_POSTGRES") == "1"
}

func start() (string, error) {
	if u := os.Getenv("BURSAR_TEST_POSTGRES_URL"); u != "" {
		return u, nil
	}
	bindir, err := findBindir()
	if err != nil {
		return "", err
	}
	// The go command is the parent of every test binary it runs, so its pid
	// names the cluster of this run.
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("bursar-pgtest-%d", os.Getppid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks too

	urlFile := filepath.Join(dir, "url")
	if b, err := os.ReadFile(urlFile); err == nil && answers(string(b)) {
		return string(b), nil
	}
	u, err := initCluster(bindir, dir)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(urlFile, []byte(u), 0o644); err != nil {
		return "", err
	}
	return u, nil
}

func findBindir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", errNoServer
	}
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	return filepath.Dir(matches[0]), nil
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

func answers(u string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

// initCluster creates and starts a cluster in dir/data and a reaper for it.
func initCluster(bindir, dir string) (string, error) {
	// Durability settings stay at their defaults so benchmarks measure what
	// production does; only the size limits are raised for parallel tests.
	c, err := createCluster(bindir, dir, "-c max_connections=300 -c shared_buffers=256MB")
	if err != nil {
		return "", err
	}
	if err := c.start(); err != nil {
		return "", err
	}
	if err := startReaper(c.owner, bindir, dir, c.data); err != nil {
		return "", err
	}
	return c.URL(), nil
}

// createCluster runs initdb into dir/data and picks the port the cluster
// will listen on; it does not start it.
func createCluster(bindir, dir, opts string) (*Cluster, error) {
	owner, err := clusterOwner()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	_ = os.RemoveAll(data) // a cluster left by a crashed run of a reused pid
	if owner != nil {
		if err := os.Chown(dir, int(owner.Uid), int(owner.Gid)); err != nil {
			return nil, err
		}
	}
	if err := run(owner, dir, filepath.Join(bindir, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &Cluster{bindir: bindir, dir: dir, data: data, owner: owner, port: port, opts: opts}, nil
}

// clusterOwner returns the postgres user's credentials when running as root,
// because initdb refuses to run as root; nil means "as ourselves".
func clusterOwner() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and initdb refuses root: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func run(owner *syscall.Credential, dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: owner}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", filepath.Base(name), err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startReaper starts a detached shell that waits for the go command to exit,
// then stops the cluster and removes its folder. Its output goes nowhere:
// the go command waits for every holder of its pipes.
func startReaper(owner *syscall.Credential, bindir, dir, data string) error {
	script := fmt.Sprintf(`while [ -d /proc/%d ]; do sleep 1; done
%q -D %q -m immediate stop
rm -rf %q`, os.Getppid(), filepath.Join(bindir, "pg_ctl"), data, dir)
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: owner, Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start reaper: %w", err)
	}
	return cmd.Process.Release()
}
