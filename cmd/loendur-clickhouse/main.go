// Command loendur-clickhouse starts, stops or reports the shared ClickHouse server that
// tests and benchmarks use (`make clickhouse-start`, `make clickhouse-stop`, through
// .ci/clickhouse.sh), launched by internal/testenv/chserver.
//
// Usage: loendur-clickhouse start|stop|status, with the folder and ports from
// LOENDUR_CH_DIR (/tmp/loendur-clickhouse), LOENDUR_CH_TCP_PORT (19000) and
// LOENDUR_CH_HTTP_PORT (18123); and loendur-clickhouse cluster-start|cluster-stop|
// cluster-status for the local cluster (`make cluster-start`, internal/testenv/chcluster)
// in LOENDUR_CLUSTER_DIR (/tmp/loendur-cluster), on ports 19100–19199.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/websystems/loendur/internal/testenv/chcluster"
	"github.com/websystems/loendur/internal/testenv/chserver"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loendur-clickhouse:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	dir := envOr("LOENDUR_CH_DIR", "/tmp/loendur-clickhouse")
	var p chserver.Ports
	var err error
	if p.TCP, err = portEnv("LOENDUR_CH_TCP_PORT", 19000); err != nil {
		return err
	}
	if p.HTTP, err = portEnv("LOENDUR_CH_HTTP_PORT", 18123); err != nil {
		return err
	}
	cmd := ""
	if len(args) == 1 {
		cmd = args[0]
	}
	if strings.HasPrefix(cmd, "cluster-") {
		return runCluster(strings.TrimPrefix(cmd, "cluster-"))
	}
	switch cmd {
	case "start":
		started, err := chserver.Daemon(dir, p)
		if err != nil {
			return err
		}
		if !started {
			fmt.Printf("clickhouse-server already running (pid %d, port %d)\n", chserver.DaemonPid(dir), p.TCP)
			return nil
		}
		v, err := chserver.Query(p.TCP, "default", "SELECT version()")
		if err != nil {
			return err
		}
		fmt.Printf("clickhouse-server %s listening on 127.0.0.1:%d\n", strings.TrimSpace(v), p.TCP)
	case "stop":
		chserver.StopDaemon(dir)
	case "status":
		if chserver.DaemonPid(dir) == 0 {
			fmt.Println("stopped")
			os.Exit(1)
		}
		fmt.Println("running")
	default:
		fmt.Fprintln(os.Stderr, "usage: loendur-clickhouse start|stop|status|cluster-start|cluster-stop|cluster-status")
		os.Exit(2)
	}
	return nil
}

// runCluster starts, stops or reports the local cluster.
func runCluster(cmd string) error {
	c := chcluster.Cluster{Dir: envOr("LOENDUR_CLUSTER_DIR", "/tmp/loendur-cluster")}
	switch cmd {
	case "start":
		if err := c.Start(); err != nil {
			c.Stop()
			return err
		}
		fmt.Printf("cluster %s: ZooKeeper on 127.0.0.1:%d, %d×%d ClickHouse servers: --db %s --cluster %s\n",
			chcluster.Name, chcluster.ZooKeeperPort, chcluster.Shards, chcluster.Replicas, c.DSN("DB"), chcluster.Name)
	case "stop":
		c.Stop()
	case "status":
		if !c.Running() {
			fmt.Println("stopped")
			os.Exit(1)
		}
		fmt.Println("running")
	default:
		return fmt.Errorf("unknown command cluster-%s", cmd)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func portEnv(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port", name, v)
	}
	return n, nil
}
