package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// cpuShare says where the machine's CPU went during a load: the server under test, the
// load generator, the ClickHouse server (when it is the engine), everything else on the
// machine, and idle. Each is a fraction of all CPUs over the window. A large "other"
// means the run shared the machine with unrelated work and its numbers are low.
type cpuShare struct {
	Server, Loadgen, ClickHouse, Other, Idle float64
	// CPU seconds used in the window by the server, the load generator and ClickHouse.
	ServerSec, LoadgenSec, ClickHouseSec float64
	Load1                                string // /proc/loadavg's 1-minute figure at the start
}

// clockTick is USER_HZ, the unit of /proc/*/stat times (100 on every Linux port Go runs on).
const clockTick = 100

type cpuSnap struct {
	total, idle uint64 // jiffies over all CPUs, from /proc/stat
	procs       []uint64
}

// snapCPU reads the machine's counters and the CPU time of each pid (0: none).
func snapCPU(pids ...int) cpuSnap {
	s := cpuSnap{procs: make([]uint64, len(pids))}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := bytes.Cut(b, []byte("\n"))
		f := strings.Fields(string(line))
		for i := 1; i < len(f); i++ {
			v, _ := strconv.ParseUint(f[i], 10, 64)
			if i == 9 || i == 10 { // guest time is already part of user time
				continue
			}
			s.total += v
			if i == 4 || i == 5 { // idle, iowait
				s.idle += v
			}
		}
	}
	for i, pid := range pids {
		s.procs[i] = procJiffies(pid)
	}
	return s
}

// procJiffies is utime+stime of a process, all its threads.
func procJiffies(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return u + s
}

// share turns two snapshots of (server, loadgen, clickhouse) into fractions.
func share(a, b cpuSnap, load1 string) cpuShare {
	total := float64(b.total - a.total)
	if total <= 0 {
		return cpuShare{Load1: load1}
	}
	d := func(i int) float64 {
		if b.procs[i] < a.procs[i] {
			return 0
		}
		return float64(b.procs[i]-a.procs[i]) / total
	}
	sec := func(i int) float64 {
		if b.procs[i] < a.procs[i] {
			return 0
		}
		return float64(b.procs[i]-a.procs[i]) / clockTick
	}
	c := cpuShare{Server: d(0), Loadgen: d(1), ClickHouse: d(2), Idle: float64(b.idle-a.idle) / total, Load1: load1,
		ServerSec: sec(0), LoadgenSec: sec(1), ClickHouseSec: sec(2)}
	c.Other = max(0, 1-c.Server-c.Loadgen-c.ClickHouse-c.Idle)
	return c
}

func load1() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// clickhousePid is the pid of the ClickHouse server that .ci/clickhouse.sh started,
// or 0 when it is unknown.
func clickhousePid() int {
	dir := envOr("LOENDUR_CH_DIR", "/tmp/loendur-clickhouse")
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// machine describes the host in one line: CPU model, memory, kernel, Go.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := readMeminfo("MemTotal")
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("Machine: %d × %s, %.1f GB RAM, Linux %s, %s", runtime.NumCPU(), model, float64(mem)/(1<<30),
		strings.TrimSpace(string(kernel)), runtime.Version())
}

func readMeminfo(field string) uint64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}
