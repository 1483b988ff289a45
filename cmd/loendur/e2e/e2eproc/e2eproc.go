// Package e2eproc runs the loendur binary under test for the black-box test packages
// (cmd/loendur/e2e and cmd/loendur/e2e/faults): it builds the binary once per test
// binary, starts `loendur serve` as a child process with a clean environment, waits
// until it is ready, stops or kills it, keeps its log for failed tests, and reads its
// Prometheus metrics; it builds and sends beacons as a desktop Firefox does (beacon.go).
// What a test checks stays in the test package.
package e2eproc

import (
	"bytes"
	"context"
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
)

// Main is the TestMain of a package of black-box tests: it builds ./cmd/loendur into a
// temporary folder, sets *bin to the binary, runs the tests, removes the folder and
// exits with the tests' code. name prefixes its own error messages.
func Main(m *testing.M, name string, bin *string) {
	dir, err := os.MkdirTemp("", "loendur-"+name+"-")
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
	*bin = filepath.Join(dir, "loendur")
	// The import path builds the same package from any folder of the module.
	build := exec.Command("go", "build", "-o", *bin, "github.com/websystems/loendur/cmd/loendur")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, name+": go build ./cmd/loendur:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// FirefoxUA is the user agent of the beacons tests send: a desktop Firefox.
const FirefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"

// NewBeacon is a request to url as a desktop Firefox's navigator.sendBeacon sends it: a
// text/plain body (none when body is empty) and the Firefox user agent.
func NewBeacon(method, url, body string) (*http.Request, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", FirefoxUA)
	return req, nil
}

// Config is how to run one `loendur serve`.
type Config struct {
	Bin  string   // the binary (set by Main)
	Addr string   // --addr; empty: a free loopback port the kernel picks, learnt from the log
	Args []string // after --addr (--db, --site, ...); a --spool folder of the test's own is added when absent
	Env  []string // added to the child's environment

	ReadyWait time.Duration // how long WaitReady waits for 200 from /readyz; 0: a minute
	StopWait  time.Duration // how long Stop waits for the exit after SIGTERM; 0: a minute
	LogLines  int           // how many last lines of the log a failed test shows; 0: all
}

// Env is this process's environment without anything that would configure loendur
// behind the test's back (LOENDUR_*, CHDB_LIB_PATH), plus extra.
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LOENDUR_") || strings.HasPrefix(kv, "CHDB_LIB_PATH=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// Command is the `loendur serve` of c, not started: its command line, its environment
// (Env), and SIGKILL when the test process dies.
func (c Config) Command(ctx context.Context, t testing.TB) *exec.Cmd {
	addr := c.Addr
	if addr == "" {
		// Port 0: the kernel picks a free port, learnt from the start-up log (a port
		// picked here and closed could be taken by a parallel test before the child binds it).
		addr = "127.0.0.1:0"
	}
	args := append([]string{"serve", "--addr", addr}, c.Args...)
	if !slices.Contains(args, "--spool") {
		// Each collector needs a spool folder of its own; the default is the working directory.
		args = append(args, "--spool", t.TempDir())
	}
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	cmd.Env = Env(c.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Process is one running `loendur serve`.
type Process struct {
	Addr string // host:port it serves on; empty until WaitReady has read it from the log

	t    testing.TB
	cfg  Config
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
}

// Start launches c and waits until GET /readyz answers 200.
func Start(t testing.TB, c Config) *Process {
	t.Helper()
	p := Launch(t, c)
	p.WaitReady()
	return p
}

// Launch starts c and does not wait for it to be ready. When the test ends the process
// is killed if it still runs, and a failed test logs its output.
func Launch(t testing.TB, c Config) *Process {
	t.Helper()
	cmd := c.Command(context.Background(), t)
	p := &Process{t: t, cfg: c, cmd: cmd, log: &syncBuffer{}, done: make(chan struct{})}
	if !strings.HasSuffix(c.Addr, ":0") {
		p.Addr = c.Addr
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
		if !p.Exited() {
			p.Kill()
		}
		if t.Failed() {
			t.Logf("log of loendur %s%s:\n%s", strings.Join(cmd.Args[1:], " "), p.logLinesNote(), p.logForFailure())
		}
	})
	return p
}

// WaitReady waits until GET /readyz answers 200 (Config.ReadyWait), and fails the test
// when the process exits first or does not get ready in time.
func (p *Process) WaitReady() {
	p.t.Helper()
	deadline := time.Now().Add(orMinute(p.cfg.ReadyWait))
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		if p.Exited() {
			p.t.Fatalf("loendur exited (%v) before it was ready:\n%s", p.cmd.ProcessState, p.logForFailure())
		}
		if p.Addr == "" {
			p.Addr = servingAddr(p.log.String())
		}
		var err error
		if p.Addr != "" {
			var resp *http.Response
			resp, err = hc.Get(p.URL("/readyz"))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("loendur not ready after %s (last: %v):\n%s", orMinute(p.cfg.ReadyWait), err, p.logForFailure())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is the address of path on the process.
func (p *Process) URL(path string) string { return "http://" + p.Addr + path }

// Log is everything the process wrote to stdout and stderr so far.
func (p *Process) Log() string { return p.log.String() }

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// State is how the process ended; nil while it runs.
func (p *Process) State() *os.ProcessState {
	if !p.Exited() {
		return nil
	}
	return p.cmd.ProcessState
}

// Kill sends SIGKILL and waits for the process to go.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// Stop sends SIGTERM and waits for the exit (Config.StopWait; after that it kills the
// process and fails the test); it returns the exit code and how long the process took
// to exit.
func (p *Process) Stop() (int, time.Duration) {
	p.t.Helper()
	began := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !p.Exited() {
		p.t.Fatalf("SIGTERM: %v", err)
	}
	wait := orMinute(p.cfg.StopWait)
	select {
	case <-p.done:
	case <-time.After(wait):
		p.Kill()
		p.t.Fatalf("loendur did not exit within %s of SIGTERM", wait)
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(began)
}

var metricsClient = &http.Client{Timeout: 15 * time.Second}

// MetricsText is the answer of GET /metrics.
func (p *Process) MetricsText() (string, error) {
	resp, err := metricsClient.Get(p.URL("/metrics"))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return "", fmt.Errorf("GET /metrics: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s: %s", resp.Status, b.String())
	}
	return b.String(), nil
}

// Metrics reads GET /metrics into a map from `name{labels}` (as printed) to value.
func (p *Process) Metrics() (map[string]float64, error) {
	text, err := p.MetricsText()
	if err != nil {
		return nil, err
	}
	return ParseMetrics(text), nil
}

// ParseMetrics reads the Prometheus text format into a map from `name{labels}` (as
// printed) to value.
func ParseMetrics(text string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (p *Process) logForFailure() string {
	if p.cfg.LogLines > 0 {
		return Tail(p.log.String(), p.cfg.LogLines)
	}
	return p.log.String()
}

func (p *Process) logLinesNote() string {
	if p.cfg.LogLines > 0 {
		return fmt.Sprintf(" (last %d lines)", p.cfg.LogLines)
	}
	return ""
}

func orMinute(d time.Duration) time.Duration {
	if d == 0 {
		return time.Minute
	}
	return d
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
