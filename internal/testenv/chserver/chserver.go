// Package chserver launches throwaway ClickHouse servers (clickhouse-server from PATH,
// Debian's config) on loopback ports with a data folder of their own. It is the one
// place of the server's command line: the shared test server of `make clickhouse-start`
// runs as a daemon (Daemon, StopDaemon), and a test that needs a server it may stop and
// kill (the fault tests) runs one as its child (Start).
package chserver

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ConfigFile is the server configuration every launch starts from (Debian's package).
const ConfigFile = "/etc/clickhouse-server/config.xml"

// Ports are a server's loopback ports. Interserver 0 keeps the config's (9009).
type Ports struct {
	TCP, HTTP, Interserver int
}

// args is the command line of a server on config, dir and p: the data, temporary and
// log folders inside dir (the Debian config points logs at /var/log), loopback only.
// opts are server options that go before the config overrides (--daemon, --pid-file).
func args(config, dir string, p Ports, opts ...string) []string {
	d := strings.TrimRight(dir, "/")
	a := append(append([]string{"--config-file=" + config}, opts...), "--",
		"--path="+d+"/", "--tmp_path="+d+"/tmp/", "--user_files_path="+d+"/user_files/",
		"--format_schema_path="+d+"/format_schemas/",
		"--tcp_port="+strconv.Itoa(p.TCP), "--http_port="+strconv.Itoa(p.HTTP),
		"--listen_host=127.0.0.1",
		"--logger.log="+d+"/log/server.log", "--logger.errorlog="+d+"/log/error.log")
	if p.Interserver != 0 {
		a = append(a, "--interserver_http_port="+strconv.Itoa(p.Interserver))
	}
	return a
}

func makeFolders(dir string) error {
	for _, sub := range []string{"tmp", "log", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("clickhouse folder: %w", err)
		}
	}
	return nil
}

// Query runs q in database db of the server on 127.0.0.1:port with clickhouse-client
// and returns its TabSeparated output.
func Query(port int, db, q string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "clickhouse-client", "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--database", db, "--query", q)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("clickhouse-client %q: %v: %s", q, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// ErrorLog is the last n lines of the error log of the server on dir.
func ErrorLog(dir string, n int) string {
	b, err := os.ReadFile(filepath.Join(dir, "log", "error.log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitAnswer polls SELECT 1 on port until it answers, exited is closed, or wait passes.
func waitAnswer(dir string, port int, wait time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(wait)
	for {
		select {
		case <-exited:
			return fmt.Errorf("clickhouse-server exited before answering; error log:\n%s", ErrorLog(dir, 15))
		default:
		}
		if _, err := Query(port, "default", "SELECT 1"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clickhouse-server on port %d did not answer within %s; error log:\n%s",
				port, wait, ErrorLog(dir, 15))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------
// The shared server: a daemon with a pid file

// PidFile is where the daemon on dir keeps its pid.
func PidFile(dir string) string { return filepath.Join(dir, "pid") }

// DaemonPid is the pid of the daemon running on dir, or 0.
func DaemonPid(dir string) int {
	b, err := os.ReadFile(PidFile(dir))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// Daemon starts a server on dir and p that outlives the caller, and waits until it
// answers. It does nothing when one already runs on dir. Interserver 0 takes a free port.
func Daemon(dir string, p Ports) (started bool, err error) {
	return DaemonConfig(ConfigFile, dir, p)
}

// DaemonConfig is Daemon with a configuration file of the caller's (a cluster node's:
// its macros, remote_servers and ZooKeeper beside a copy of Debian's config).
func DaemonConfig(config, dir string, p Ports) (started bool, err error) {
	if DaemonPid(dir) != 0 {
		return false, nil
	}
	if p.Interserver == 0 {
		free, err := freePorts()
		if err != nil {
			return false, err
		}
		p.Interserver = free.Interserver
	}
	if err := makeFolders(dir); err != nil {
		return false, err
	}
	cmd := exec.Command("clickhouse-server", args(config, dir, p, "--pid-file="+PidFile(dir), "--daemon")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("clickhouse-server --daemon: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return true, waitAnswer(dir, p.TCP, 20*time.Second, nil)
}

// StopDaemon stops the daemon on dir (SIGTERM, SIGKILL after ten seconds) and removes
// its pid file.
func StopDaemon(dir string) {
	if pid := DaemonPid(dir); pid != 0 {
		syscall.Kill(pid, syscall.SIGTERM)
		for range 100 {
			if syscall.Kill(pid, 0) != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
	os.Remove(PidFile(dir))
}

// ---------------------------------------------------------------------------------
// A server of one's own: a child process

// Server is one throwaway server run as a child of the caller (so that it can be
// stopped and killed by pid, is reaped, and dies with the caller): started, stopped,
// killed and started again on the same folder and ports.
type Server struct {
	Dir   string
	Ports Ports

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a server on dir (a fresh folder) and three free loopback ports, and
// waits until it answers. It tries other ports when one was taken meanwhile.
func Start(dir string) (*Server, error) {
	s := &Server{Dir: dir}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if s.Ports, err = freePorts(); err != nil {
			continue
		}
		if err = s.Restart(); err == nil {
			return s, nil
		}
		s.Kill()
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("start clickhouse-server: %w", err)
}

// freePorts takes three free loopback ports: native, HTTP and interserver (the config's
// 9009 is held by the shared server). They come from below the kernel's ephemeral range
// (32768 and up on Linux): a server stopped and started again on its ports would
// otherwise find one taken by some client's outgoing connection in between, which the
// kernel gives ephemeral ports.
func freePorts() (Ports, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < 3; tries++ {
		if tries == 1000 {
			return Ports{}, fmt.Errorf("no free loopback port in %d–%d", lowPort, lowPort+portSpan)
		}
		port := lowPort + rand.IntN(portSpan)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		lns = append(lns, ln)
		ports = append(ports, port)
	}
	return Ports{TCP: ports[0], HTTP: ports[1], Interserver: ports[2]}, nil
}

// The ports freePorts picks from: below the ephemeral range, above the usual services.
const (
	lowPort  = 20000
	portSpan = 12000
)

// Restart starts the server (again) on its folder and ports and waits (90 s at most)
// until it answers.
func (s *Server) Restart() error {
	if err := makeFolders(s.Dir); err != nil {
		return err
	}
	cmd := exec.Command("clickhouse-server", args(ConfigFile, s.Dir, s.Ports)...)
	cmd.Dir = s.Dir
	out, err := os.OpenFile(filepath.Join(s.Dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		out.Close()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return waitAnswer(s.Dir, s.Ports.TCP, 90*time.Second, done)
}

// Stop sends SIGTERM and waits for the exit (SIGKILL after a minute).
func (s *Server) Stop() { s.signal(syscall.SIGTERM, time.Minute) }

// Kill sends SIGKILL and waits for the exit.
func (s *Server) Kill() { s.signal(syscall.SIGKILL, time.Minute) }

func (s *Server) signal(sig syscall.Signal, wait time.Duration) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		cmd.Process.Kill()
		<-done
	}
}

// Addr is the native protocol's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Ports.TCP) }

// Query runs q in database db with clickhouse-client.
func (s *Server) Query(db, q string) (string, error) { return Query(s.Ports.TCP, db, q) }
