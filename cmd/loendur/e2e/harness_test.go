package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/testenv"
)

// loendurBin is the binary under test, built once by TestMain.
var loendurBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loendur-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	loendurBin = filepath.Join(dir, "loendur")
	build := exec.Command("go", "build", "-o", loendurBin, "./cmd/loendur")
	build.Dir = filepath.Join("..", "..", "..") // the module root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build ./cmd/loendur:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Request defaults: what a desktop Firefox sends through navigator.sendBeacon.
const (
	firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
	site      = "site.test"
)

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
	t    *testing.T
	cmd  *exec.Cmd
	Addr string
	log  *syncBuffer
	done chan struct{}
}

type run struct {
	DB   *db
	Args []string // after --addr and --db
	Env  []string // added to the child's environment
	Addr string   // empty: a free loopback port
}

// childEnv is this process's environment without anything that would configure
// loendur behind the test's back, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LOENDUR_") || strings.HasPrefix(kv, "CHDB_LIB_PATH=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// serveArgs are the command line and extra environment of `loendur serve` for r.
func (r run) serveArgs(t *testing.T) (addr string, args, env []string) {
	addr = r.Addr
	if addr == "" {
		// Port 0: the kernel picks a free port, learnt from the start-up log (a port
		// picked here and closed could be taken by a parallel test before the child binds it).
		addr = "127.0.0.1:0"
	}
	args = []string{"serve", "--addr", addr}
	env = r.Env
	if r.DB != nil {
		args = append(args, "--db", r.DB.DSN)
		env = append(append([]string{}, r.DB.Env...), env...)
	}
	args = append(args, r.Args...)
	if !slices.Contains(args, "--spool") {
		// Each collector needs a spool folder of its own; the default is the working directory.
		args = append(args, "--spool", t.TempDir())
	}
	return addr, args, env
}

// launch starts loendur serve and does not wait for it to be ready.
func launch(t *testing.T, r run) *loendur {
	t.Helper()
	addr, args, env := r.serveArgs(t)
	cmd := exec.Command(loendurBin, args...)
	cmd.Env = childEnv(env...)
	p := &loendur{t: t, cmd: cmd, Addr: addr, log: &syncBuffer{}, done: make(chan struct{})}
	if strings.HasSuffix(addr, ":0") {
		p.Addr = ""
	}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start loendur: %v", err)
	}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("log of loendur %s:\n%s", strings.Join(args, " "), p.log.String())
		}
	})
	return p
}

// start launches loendur serve and waits until GET /readyz answers 200.
func start(t *testing.T, r run) *loendur {
	t.Helper()
	p := launch(t, r)
	p.waitReady()
	return p
}

func (p *loendur) waitReady() {
	p.t.Helper()
	deadline := time.Now().Add(time.Minute)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		if p.exited() {
			p.t.Fatalf("loendur exited (code %d) before it was ready:\n%s", p.cmd.ProcessState.ExitCode(), p.log.String())
		}
		if p.Addr == "" {
			p.Addr = servingAddr(p.log.String())
			if p.Addr == "" {
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		resp, err := c.Get(p.url("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("loendur not ready after a minute (last: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *loendur) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to 30 seconds; it returns the exit code and how long
// the process took to exit.
func (p *loendur) stop() (int, time.Duration) {
	p.t.Helper()
	began := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !p.exited() {
		p.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("loendur did not exit within 30 s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(began)
}

// stopClean stops the process and fails the test unless it exits 0.
func (p *loendur) stopClean() {
	p.t.Helper()
	if code, took := p.stop(); code != 0 {
		p.t.Fatalf("loendur exited with code %d after SIGTERM (%s)", code, took)
	}
}

func (p *loendur) url(path string) string { return "http://" + p.Addr + path }

// reply is an answer of the beacon endpoint.
type reply struct {
	Status int
	Reason string // X-Loendur-Reason
	Body   []byte
	Header http.Header
}

var client = &http.Client{Timeout: 15 * time.Second}

// post sends body to POST /api/event as a Firefox sendBeacon would; hdr adds or
// replaces headers ("User-Agent": "" sends none).
func (p *loendur) post(body string, hdr map[string]string) reply {
	p.t.Helper()
	return p.send(http.MethodPost, body, hdr)
}

func (p *loendur) send(method, body string, hdr map[string]string) reply {
	p.t.Helper()
	r, err := p.trySend(method, body, hdr)
	if err != nil {
		p.t.Fatalf("%s /api/event: %v", method, err)
	}
	return r
}

func (p *loendur) trySend(method, body string, hdr map[string]string) (reply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.url("/api/event"), rd)
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", firefoxUA)
	for k, v := range hdr {
		req.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{Status: resp.StatusCode, Reason: resp.Header.Get("X-Loendur-Reason"), Body: b, Header: resp.Header}, nil
}

// metrics reads GET /metrics into a map from `name{labels}` (as printed) to value.
func (p *loendur) metrics() map[string]float64 {
	p.t.Helper()
	text := p.metricsText()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

func (p *loendur) metricsText() string {
	p.t.Helper()
	resp, err := client.Get(p.url("/metrics"))
	if err != nil {
		p.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

func rejected(reason string) string {
	return `loendur_events_rejected_total{reason="` + reason + `"}`
}

func dropped(reason string) string {
	return `loendur_events_dropped_total{reason="` + reason + `"}`
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
	_, args, env := r.serveArgs(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, loendurBin, args...)
	cmd.Env = childEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("loendur %s did not exit within a minute; stderr:\n%s", strings.Join(args, " "), stderr.String())
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

// servingAddr finds the listen address in loendur's "loendur serving" log line.
func servingAddr(log string) string {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="loendur serving"`) {
			continue
		}
		for _, field := range strings.Fields(line) {
			if a, ok := strings.CutPrefix(field, "addr="); ok {
				return a
			}
		}
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// event is a beacon body.
func event(name, url string, extra map[string]any) string {
	m := map[string]any{"site": site, "name": name, "url": url}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// syncBuffer collects a child's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
