// Package chcluster runs the local ClickHouse cluster of development and tests:
// ZooKeeper (Debian's zookeeper package, in the foreground of a process of its own) and
// four ClickHouse 18.16 servers, 2 shards × 2 replicas, each with its own data folder,
// configuration file (macros, remote_servers, zookeeper, distributed_ddl), loopback
// ports and interserver port. Every port is in 19100–19199. The servers are daemons with
// pid files (chserver.DaemonConfig, the one command line of a throwaway server), so
// `make cluster-start` leaves them running for `make test`, and the fault drills stop,
// kill and start single members by pid.
package chcluster

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/websystems/loendur/internal/testenv/chserver"
)

// Name is the cluster's name in every server's remote_servers (loendur's --cluster).
const Name = "loendur_local"

// The cluster's ports: ZooKeeper's client port, then per server (index 0–3) the native,
// HTTP and interserver ports.
const (
	ZooKeeperPort   = 19100
	tcpBase         = 19110
	httpBase        = 19120
	interserverBase = 19130
)

// Shards and Replicas shape the cluster: server i is replica i%Replicas of shard i/Replicas.
const (
	Shards   = 2
	Replicas = 2
)

// SessionTimeout is the servers' ZooKeeper session timeout. A SIGKILLed replica rejoins
// once its old session has expired, so the drills wait about this long; ClickHouse's
// default is 30 s, and ZooKeeper's floor is twice its tick (here 2 × 500 ms).
const SessionTimeout = 4 * time.Second

// Cluster is the local cluster whose folders are under Dir.
type Cluster struct{ Dir string }

// Node is one ClickHouse server of the cluster.
type Node struct {
	Index          int
	Shard, Replica int // from 1
	Dir            string
	Ports          chserver.Ports
}

// Nodes are the cluster's four servers, shard by shard.
func (c Cluster) Nodes() []Node {
	var out []Node
	for i := 0; i < Shards*Replicas; i++ {
		out = append(out, Node{
			Index: i, Shard: i/Replicas + 1, Replica: i%Replicas + 1,
			Dir:   filepath.Join(c.Dir, "ch"+strconv.Itoa(i+1)),
			Ports: chserver.Ports{TCP: tcpBase + i, HTTP: httpBase + i, Interserver: interserverBase + i},
		})
	}
	return out
}

// Addr is the node's native host:port.
func (n Node) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.Ports.TCP) }

// Query runs q in database db on the node (clickhouse-client).
func (n Node) Query(db, q string) (string, error) { return chserver.Query(n.Ports.TCP, db, q) }

// DSN is loendur's --db for database db on the cluster: every server's native address.
func (c Cluster) DSN(db string) string {
	var hosts []string
	for _, n := range c.Nodes() {
		hosts = append(hosts, n.Addr())
	}
	return "clickhouse://" + strings.Join(hosts, ",") + "/" + db
}

// Start starts ZooKeeper and every server that is not running, and waits until all
// answer. Members already running are left alone.
func (c Cluster) Start() error {
	if err := c.StartZooKeeper(); err != nil {
		return err
	}
	for _, n := range c.Nodes() {
		if err := c.StartNode(n); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops every server, then ZooKeeper (SIGTERM, SIGKILL after ten seconds).
func (c Cluster) Stop() {
	for _, n := range c.Nodes() {
		chserver.StopDaemon(n.Dir)
	}
	c.StopZooKeeper()
}

// Running reports whether ZooKeeper and every server have a live process.
func (c Cluster) Running() bool {
	if pidOf(c.zkPidFile()) == 0 {
		return false
	}
	for _, n := range c.Nodes() {
		if chserver.DaemonPid(n.Dir) == 0 {
			return false
		}
	}
	return true
}

// StartNode starts server n (again) on its folder, configuration and ports.
func (c Cluster) StartNode(n Node) error {
	config, err := c.writeNodeConfig(n)
	if err != nil {
		return err
	}
	if _, err := chserver.DaemonConfig(config, n.Dir, n.Ports); err != nil {
		return fmt.Errorf("cluster server %d (shard %d, replica %d): %w", n.Index+1, n.Shard, n.Replica, err)
	}
	return nil
}

// KillNode SIGKILLs server n and waits until it is gone.
func (c Cluster) KillNode(n Node) { killAndWait(chserver.DaemonPid(n.Dir)) }

// StopNode stops server n (SIGTERM).
func (c Cluster) StopNode(n Node) { chserver.StopDaemon(n.Dir) }

func killAndWait(pid int) {
	if pid == 0 {
		return
	}
	syscall.Kill(pid, syscall.SIGKILL)
	for range 200 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------
// ZooKeeper

func (c Cluster) zkDir() string       { return filepath.Join(c.Dir, "zookeeper") }
func (c Cluster) zkPidFile() string   { return filepath.Join(c.zkDir(), "pid") }
func (c Cluster) zkConfig() string    { return filepath.Join(c.zkDir(), "zoo.cfg") }
func (c Cluster) zkLog() string       { return filepath.Join(c.zkDir(), "zookeeper.log") }
func (c Cluster) zkDataDir() string   { return filepath.Join(c.zkDir(), "data") }
func (c Cluster) zkLog4j() string     { return filepath.Join(c.zkDir(), "log4j.properties") }
func (c Cluster) zkConfigDir() string { return c.zkDir() }

// StartZooKeeper starts ZooKeeper unless it runs, and waits until it answers.
func (c Cluster) StartZooKeeper() error {
	if pidOf(c.zkPidFile()) != 0 {
		return nil
	}
	if err := os.MkdirAll(c.zkDataDir(), 0o755); err != nil {
		return fmt.Errorf("zookeeper folder: %w", err)
	}
	cfg := fmt.Sprintf(`# loendur's local cluster (internal/testenv/chcluster)
tickTime=500
initLimit=10
syncLimit=5
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
admin.enableServer=false
maxClientCnxns=0
autopurge.purgeInterval=1
4lw.commands.whitelist=ruok,srvr
`, c.zkDataDir(), ZooKeeperPort)
	if err := os.WriteFile(c.zkConfig(), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("zookeeper config: %w", err)
	}
	log4j := "log4j.rootLogger=WARN, F\nlog4j.appender.F=org.apache.log4j.FileAppender\n" +
		"log4j.appender.F.File=" + c.zkLog() + "\nlog4j.appender.F.layout=org.apache.log4j.PatternLayout\n" +
		"log4j.appender.F.layout.ConversionPattern=%d %p %c{1}: %m%n\n"
	if err := os.WriteFile(c.zkLog4j(), []byte(log4j), 0o644); err != nil {
		return fmt.Errorf("zookeeper log config: %w", err)
	}
	out, err := os.OpenFile(filepath.Join(c.zkDir(), "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	// The class path holds our folder first, so our log4j.properties wins over Debian's.
	cmd := exec.Command("java", "-Xmx192m", "-Xss512k", "-XX:+UseSerialGC",
		"-Dzookeeper.log.dir="+c.zkDir(), "-Dlog4j.configuration=file:"+c.zkLog4j(),
		"-cp", c.zkConfigDir()+":/usr/share/java/*:/etc/zookeeper/conf",
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", c.zkConfig())
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives `make cluster-start`
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start zookeeper (is Debian's zookeeper package installed?): %w", err)
	}
	pid := cmd.Process.Pid
	cmd.Process.Release()
	if err := os.WriteFile(c.zkPidFile(), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for !zkAnswers() {
		if syscall.Kill(pid, 0) != nil || time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(c.zkDir(), "stdout.log"))
			return fmt.Errorf("zookeeper on 127.0.0.1:%d did not start: %s", ZooKeeperPort, tail(string(b), 15))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// StopZooKeeper stops ZooKeeper (SIGTERM, SIGKILL after ten seconds).
func (c Cluster) StopZooKeeper() {
	pid := pidOf(c.zkPidFile())
	if pid != 0 {
		syscall.Kill(pid, syscall.SIGTERM)
		for range 100 {
			if syscall.Kill(pid, 0) != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		killAndWait(pid)
	}
	os.Remove(c.zkPidFile())
}

// zkAnswers reports whether ZooKeeper serves: a session handshake needs a client, so
// this asks the four-letter word "srvr" on the client port, which names the server's
// mode once it serves ("ruok" answers while it is still loading its data).
func zkAnswers() bool {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(ZooKeeperPort), time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return false
	}
	b, _ := io.ReadAll(conn)
	return strings.Contains(string(b), "Mode: ")
}

func pidOf(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// ---------------------------------------------------------------------------------
// A server's configuration

// writeNodeConfig writes n's configuration: a copy of Debian's config.xml, and beside
// it config.d/cluster.xml (the cluster, this server's macros, ZooKeeper, small caches)
// and users.xml (Debian's users with a small background pool). It returns the copy's path.
func (c Cluster) writeNodeConfig(n Node) (string, error) {
	confDir := filepath.Join(n.Dir, "config")
	if err := os.MkdirAll(filepath.Join(confDir, "config.d"), 0o755); err != nil {
		return "", fmt.Errorf("cluster config folder: %w", err)
	}
	base, err := os.ReadFile(chserver.ConfigFile)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", chserver.ConfigFile, err)
	}
	users, err := os.ReadFile(filepath.Join(filepath.Dir(chserver.ConfigFile), "users.xml"))
	if err != nil {
		return "", fmt.Errorf("read users.xml: %w", err)
	}
	// Replication's merges and fetches run in this pool (16 threads by default): four
	// servers on a shared 2-core machine need few.
	// distributed_product_mode: what loendur asks of a cluster's profile (README).
	usersXML := strings.Replace(string(users), "<default>",
		"<default>\n            <background_pool_size>2</background_pool_size>\n"+
			"            <distributed_product_mode>local</distributed_product_mode>", 1)
	files := map[string]string{
		filepath.Join(confDir, "config.xml"):              string(base),
		filepath.Join(confDir, "users.xml"):               usersXML,
		filepath.Join(confDir, "config.d", "cluster.xml"): c.nodeXML(n),
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
	}
	return filepath.Join(confDir, "config.xml"), nil
}

// nodeXML is what a server of the cluster adds to Debian's config; the README's
// "Scaling out" shows the same elements for a user's own servers.
func (c Cluster) nodeXML(n Node) string {
	var shards strings.Builder
	for s := 1; s <= Shards; s++ {
		shards.WriteString("            <shard>\n                <internal_replication>true</internal_replication>\n")
		for _, m := range c.Nodes() {
			if m.Shard == s {
				fmt.Fprintf(&shards, "                <replica><host>127.0.0.1</host><port>%d</port></replica>\n", m.Ports.TCP)
			}
		}
		shards.WriteString("            </shard>\n")
	}
	return fmt.Sprintf(`<?xml version="1.0"?>
<!-- Server %d of loendur's local cluster (internal/testenv/chcluster). -->
<yandex>
    <remote_servers>
        <%s>
%s        </%s>
    </remote_servers>
    <zookeeper>
        <node><host>127.0.0.1</host><port>%d</port></node>
        <session_timeout_ms>%d</session_timeout_ms>
    </zookeeper>
    <macros>
        <shard>%02d</shard>
        <replica>s%dr%d</replica>
    </macros>
    <distributed_ddl>
        <path>/clickhouse/task_queue/ddl</path>
    </distributed_ddl>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
`, n.Index+1, Name, shards.String(), Name, ZooKeeperPort, SessionTimeout.Milliseconds(), n.Shard, n.Shard, n.Replica)
}

// Use takes the cluster for a test until release is called: shared for tests that only
// use it (several packages' tests at once), exclusive for the fault drills, which stop
// and kill its members. `go test ./...` runs packages in parallel processes, so the
// lock is a file lock (flock) in the cluster's folder.
func (c Cluster) Use(exclusive bool) (release func(), err error) {
	f, err := os.OpenFile(filepath.Join(c.Dir, "use.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cluster lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("cluster lock: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
