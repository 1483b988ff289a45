package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/websystems/loendur/cmd/loendur/e2e/e2eproc"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/testenv"
)

// loendurBin is the binary under test, built once by TestMain.
var loendurBin string

func TestMain(m *testing.M) { e2eproc.Main(m, "e2e", &loendurBin) }

const site = "site.test"

// chdbMu lets one embedded engine run at a time (libchdb maps about 570 MB), counting
// the test process itself when it reads a data folder back.
var chdbMu sync.Mutex

// db is one throwaway database on one engine.
type db struct {
	Engine string   // "server" or "chdb"
	DSN    string   // what --db gets
	Env    []string // what the child needs in its environment (CHDB_LIB_PATH)
	Dir    string   // the chDB data folder
	Lib    string   // libchdb.so
	Name   string   // the server database
}

var engines = []string{"server", "chdb"}

// newDB returns a fresh database on engine. A chDB one holds chdbMu until the test ends;
// a server one is dropped when the test ends.
func newDB(t *testing.T, engine string) *db {
	t.Helper()
	switch engine {
	case "server":
		addr := testenv.ClickHouseAddr(t)
		name := "e2e_" + randomHex(6)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := store.Open(ctx, "clickhouse://"+addr+"/default", store.Options{})
			if err != nil {
				t.Logf("drop database %s: %v", name, err)
				return
			}
			defer s.Close()
			if err := s.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
				t.Logf("drop database %s: %v", name, err)
			}
		})
		return &db{Engine: engine, DSN: "clickhouse://" + addr + "/" + name, Name: name}
	case "chdb":
		lib := testenv.ChdbLib(t)
		chdbMu.Lock()
		t.Cleanup(chdbMu.Unlock)
		dir := filepath.Join(t.TempDir(), "data")
		return &db{Engine: engine, DSN: "chdb://" + dir, Dir: dir, Lib: lib, Env: []string{"CHDB_LIB_PATH=" + lib}}
	}
	t.Fatalf("unknown engine %q", engine)
	return nil
}

// open connects the test itself to the database. For chDB the folder must not be held
// by a running loendur (stop it first).
func (d *db) open(t *testing.T) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, d.DSN, store.Options{LibPath: d.Lib})
	if err != nil {
		t.Fatalf("open %s for reading: %v", d.DSN, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// events reads every row of the events table.
func (d *db) events(t *testing.T) []store.Event {
	t.Helper()
	return selectEvents(t, d.open(t), "")
}

func selectEvents(t *testing.T, s store.Store, where string, args ...any) []store.Event {
	t.Helper()
	var rows []store.Event
	q := "SELECT " + strings.Join(store.EventColumns, ", ") + " FROM events " + where + " ORDER BY timestamp, event_id"
	if err := s.Select(context.Background(), &rows, q, args...); err != nil {
		t.Fatalf("read events: %v", err)
	}
	return rows
}

func count(t *testing.T, s store.Store, query string, args ...any) uint64 {
	t.Helper()
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := s.Select(context.Background(), &rows, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if len(rows) != 1 {
		t.Fatalf("%s: %d rows, want 1", query, len(rows))
	}
	return rows[0].N
}

// waitForCount polls query (SELECT count() AS n ...) until it returns want or the
// deadline passes, and returns the last value.
func waitForCount(t *testing.T, s store.Store, want uint64, timeout time.Duration, query string, args ...any) uint64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := count(t, s, query, args...)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loendur is one running `loendur serve`.
type loendur struct {
	*e2eproc.Process
	t *testing.T
}

type run struct {
	DB   *db
	Args []string // after --addr and --db
	Env  []string // added to the child's environment
	Addr string   // empty: a free loopback port
}

// config is how e2eproc runs `loendur serve` for r.
func (r run) config() e2eproc.Config {
	c := e2eproc.Config{Bin: loendurBin, Addr: r.Addr, Args: r.Args, Env: r.Env, StopWait: 30 * time.Second}
	if r.DB != nil {
		c.Args = append([]string{"--db", r.DB.DSN}, r.Args...)
		c.Env = append(append([]string{}, r.DB.Env...), r.Env...)
	}
	return c
}

// launch starts loendur serve and does not wait for it to be ready.
func launch(t *testing.T, r run) *loendur {
	t.Helper()
	return &loendur{Process: e2eproc.Launch(t, r.config()), t: t}
}

// start launches loendur serve and waits until GET /readyz answers 200.
func start(t *testing.T, r run) *loendur {
	t.Helper()
	return &loendur{Process: e2eproc.Start(t, r.config()), t: t}
}

// stopClean stops the process and fails the test unless it exits 0.
func (p *loendur) stopClean() {
	p.t.Helper()
	if code, took := p.Stop(); code != 0 {
		p.t.Fatalf("loendur exited with code %d after SIGTERM (%s)", code, took)
	}
}

var client = &http.Client{Timeout: 15 * time.Second}

// post sends body to POST /api/event as a Firefox sendBeacon would; hdr adds or
// replaces headers ("User-Agent": "" sends none).
func (p *loendur) post(body string, hdr map[string]string) e2eproc.Reply {
	p.t.Helper()
	return p.send(http.MethodPost, body, hdr)
}

func (p *loendur) send(method, body string, hdr map[string]string) e2eproc.Reply {
	p.t.Helper()
	r, err := p.trySend(method, body, hdr)
	if err != nil {
		p.t.Fatalf("%s /api/event: %v", method, err)
	}
	return r
}

func (p *loendur) trySend(method, body string, hdr map[string]string) (e2eproc.Reply, error) {
	return e2eproc.Send(client, method, p.URL("/api/event"), body, hdr)
}

// metrics reads GET /metrics into a map from `name{labels}` (as printed) to value.
func (p *loendur) metrics() map[string]float64 { return e2eproc.ParseMetrics(p.metricsText()) }

func (p *loendur) metricsText() string {
	p.t.Helper()
	text, err := p.MetricsText()
	if err != nil {
		p.t.Fatal(err)
	}
	return text
}

// exitResult is how a loendur that was expected to fail ended.
type exitResult struct {
	Code   int
	Stdout string
	Stderr string
}

// runToExit runs loendur serve and waits (at most a minute) for it to exit by itself.
func runToExit(t *testing.T, r run) exitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := r.config().Command(ctx, t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("loendur %s did not exit within a minute; stderr:\n%s", strings.Join(cmd.Args[1:], " "), stderr.String())
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run loendur: %v", err)
	}
	return exitResult{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String()}
}

// errorLines are the lines of a failed start's stderr that are not informational
// log records (the start-up log may say e.g. that no GeoIP database is configured
// before the failure).
func errorLines(stderr string) []string {
	var out []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.TrimSpace(line) == "" || strings.Contains(line, " level=INFO ") {
			continue
		}
		out = append(out, line)
	}
	return out
}

// checkOneLineFailure asserts a start-up failure: a non-zero exit, exactly one error
// line that contains every one of want, and no panic or stack trace.
func checkOneLineFailure(t *testing.T, res exitResult, want ...string) {
	t.Helper()
	if res.Code == 0 {
		t.Errorf("exit code 0, want non-zero; stderr:\n%s", res.Stderr)
	}
	for _, bad := range []string{"goroutine ", "panic", ".go:", "runtime."} {
		if strings.Contains(res.Stderr, bad) {
			t.Errorf("stderr looks like a crash (contains %q):\n%s", bad, res.Stderr)
		}
	}
	lines := errorLines(res.Stderr)
	if len(lines) != 1 {
		t.Fatalf("want exactly one error line on stderr, got %d:\n%s", len(lines), res.Stderr)
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("error line does not mention %q:\n%s", w, lines[0])
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// event is a beacon body for the test site.
func event(name, url string, extra map[string]any) string {
	return e2eproc.Beacon(site, name, url, extra)
}
