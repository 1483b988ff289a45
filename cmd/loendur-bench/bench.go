package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/websystems/loendur/collector"
	"github.com/websystems/loendur/internal/store"
)

// benchConfig is one `loadgen bench` invocation.
type benchConfig struct {
	load          loadFlags
	bareDuration  time.Duration
	loendur       string
	bare          string
	engines       []string
	chAddr        string
	queueSize     int
	batchSize     int
	flushInterval time.Duration
	acceptSync    time.Duration
	waitStored    time.Duration
	geo           bool
	markdown      string
	perfDir       string
	keep          bool
	// The open-loop run: openShare of bare Fiber's closed-loop rate, for openDuration,
	// over openConns connections; and the saturated run with satConns connections.
	openShare    float64
	openDuration time.Duration
	openConns    int
	satConns     int
	satDuration  time.Duration
}

// run is the outcome of loading one server.
type run struct {
	Name      string
	Engine    string // "" for the bare server
	Version   string
	Load      loadResult    // the closed-loop run that the throughput, CPU and allocation rows describe
	Open      loadResult    // open loop at a fixed rate (zero: not run)
	Sat       loadResult    // closed loop with -sat-conns connections (zero: not run)
	Stored    uint64        // final count in the database after every run, verified after shutdown
	Variety   variety       // of the stored events
	Visible   time.Duration // from the first request until the last accepted row was visible
	Drained   bool          // every accepted event became visible within -wait
	Inserts   float64       // loendur_batch_size_count
	FlushSum  float64       // loendur_flush_duration_seconds_sum
	FlushMax  float64       // slowest flush, from the histogram's buckets (upper bound)
	Dropped   float64       // answered 202 but not stored (bots, GPC, DNT): should be 0
	InsertErr float64
	Mallocs   float64 // Go heap objects allocated by the collector during the run
	AllocB    float64 // and their bytes
	GCs       float64 // garbage collections during the run
	Rejected  map[string]float64
	RSS       rssPeak
	IdleRSS   uint64 // resident set when ready, before the load
	CPU       cpuShare
	Log       string

	// Peaks of the accept log's exposure since the collector started (it starts fresh
	// for each run), seen at its fsyncs: events written and not yet fsynced, and the
	// age of the oldest. What a power cut at the worst moment would have lost.
	UnsyncedEvents  float64
	UnsyncedSeconds float64
	Fsyncs          float64 // fsyncs of the accept log during the run
}

func cmdBench(args []string) error {
	var cfg benchConfig
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	cfg.load.register(fs)
	fs.DurationVar(&cfg.bareDuration, "bare-duration", 10*time.Second, "how long the bare Fiber server is loaded before and after each engine")
	fs.StringVar(&cfg.loendur, "loendur", "bin/loendur", "the collector binary")
	fs.StringVar(&cfg.bare, "bare", "bin/bench-bare", "the bare Fiber server binary")
	engines := fs.String("engines", "server,chdb", "engines to load, in order: server (ClickHouse server at -clickhouse), chdb (embedded)")
	fs.StringVar(&cfg.chAddr, "clickhouse", "127.0.0.1:"+envOr("LOENDUR_CH_TCP_PORT", "19000"), "native address of the ClickHouse server")
	fs.IntVar(&cfg.queueSize, "queue-size", collector.DefaultQueueSize, "collector --queue-size")
	fs.IntVar(&cfg.batchSize, "batch-size", 0, "collector --batch-size (0: the collector's default for the engine)")
	fs.DurationVar(&cfg.flushInterval, "flush-interval", collector.DefaultFlushInterval, "collector --flush-interval")
	fs.DurationVar(&cfg.acceptSync, "accept-log-sync", 100*time.Millisecond, "collector --accept-log-sync")
	fs.DurationVar(&cfg.waitStored, "wait", 60*time.Second, "how long to wait after the load for every accepted event to be stored")
	fs.BoolVar(&cfg.geo, "geoip", true, "give the collector a GeoIP City database covering the generated addresses")
	fs.StringVar(&cfg.markdown, "markdown", "", "also write the results as a Markdown table to this file")
	fs.StringVar(&cfg.perfDir, "perf", "", "record the collector with perf record -g during each load into this folder (slows it a little; not for the official numbers)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary folder (collector logs, chDB data)")
	fs.Float64Var(&cfg.openShare, "open-share", 0.5, "open-loop rate as a share of bare Fiber's closed-loop rate measured just before (0: no open-loop run)")
	fs.DurationVar(&cfg.openDuration, "open-duration", 10*time.Second, "how long the open-loop run lasts (bare Fiber and each engine)")
	fs.IntVar(&cfg.openConns, "open-conns", 64, "keep-alive connections the open-loop run may use")
	fs.IntVar(&cfg.satConns, "sat-conns", 64, "connections of the saturated closed-loop run (0: none)")
	fs.DurationVar(&cfg.satDuration, "sat-duration", 10*time.Second, "how long the saturated run lasts (bare Fiber and each engine)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, e := range strings.Split(*engines, ",") {
		if e = strings.TrimSpace(e); e != "" {
			if e != "server" && e != "chdb" {
				return fmt.Errorf("-engines: unknown engine %q (server, chdb)", e)
			}
			cfg.engines = append(cfg.engines, e)
		}
	}
	w, err := cfg.load.apply()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "loendur-bench-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintln(os.Stderr, "bench: keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	stopOnSignal()
	defer killAll()

	var geoPath string
	if cfg.geo {
		geoPath = filepath.Join(tmp, "bench-city.mmdb")
		if err := writeGeoDB(geoPath); err != nil {
			return err
		}
	}

	// The machine may be shared and its speed drifts, so the bare server is measured
	// right before and right after each engine, and each engine is compared with the
	// mean of its own two yardsticks.
	var runs []run
	for _, engine := range cfg.engines {
		before, err := benchBare(cfg, w, tmp, "bare Fiber", true)
		if err != nil {
			return fmt.Errorf("bare Fiber: %w", err)
		}
		runs = append(runs, before)
		printRun(os.Stderr, before)
		r, err := benchCollector(cfg, w, tmp, engine, geoPath, before.Open.Rate)
		if err != nil {
			return fmt.Errorf("%s: %w", engine, err)
		}
		runs = append(runs, r)
		printRun(os.Stderr, r)
		after, err := benchBare(cfg, w, tmp, "bare Fiber, after", false)
		if err != nil {
			return fmt.Errorf("bare Fiber: %w", err)
		}
		runs = append(runs, after)
		printRun(os.Stderr, after)
	}
	report := renderReport(cfg, runs)
	fmt.Print(report)
	if cfg.markdown != "" {
		if err := os.WriteFile(cfg.markdown, []byte(report), 0o644); err != nil {
			return err
		}
	}
	for _, r := range runs {
		if r.Engine == "" {
			continue
		}
		if loss := r.accepted() - int64(r.Stored); loss != 0 || !r.Drained {
			return fmt.Errorf("%s: %d accepted events were not stored", r.Name, loss)
		}
	}
	return nil
}

// benchBare loads the bare Fiber server: the ceiling of what Fiber and the load
// generator do together on this machine. With extra, it then runs the open loop at
// -open-share of the rate just measured, and the saturated run.
func benchBare(cfg benchConfig, w *workload, tmp, name string, extra bool) (run, error) {
	addr, err := freeAddr()
	if err != nil {
		return run{}, err
	}
	logPath := filepath.Join(tmp, "bare.log")
	p, err := startProcess(logPath, cfg.bare, "-addr", addr)
	if err != nil {
		return run{}, err
	}
	defer p.stop(10 * time.Second)
	if err := waitHTTP(p, "http://"+addr+"/healthz", 20*time.Second); err != nil {
		return run{}, err
	}
	pid := p.cmd.Process.Pid
	r := run{Name: name, IdleRSS: readStatus(pid)["VmRSS"], Log: logPath}
	rss := sampleRSS(pid)
	fmt.Fprintf(os.Stderr, "bench: %s on %s: loading for %v with %d connections\n", name, addr, cfg.bareDuration, cfg.load.conns)
	lc := cfg.load.config("http://"+addr+"/api/event", w)
	lc.Duration = cfg.bareDuration
	l1, cpu0 := load1(), snapCPU(pid, os.Getpid(), 0)
	if r.Load, err = runLoad(lc); err != nil {
		return r, err
	}
	r.CPU = share(cpu0, snapCPU(pid, os.Getpid(), 0), l1)
	if extra {
		rate := cfg.openShare * r.Load.PerSecond(r.Load.Sent-r.Load.Errors)
		if r.Open, r.Sat, err = extraLoads(cfg, w, "http://"+addr+"/api/event", name, rate); err != nil {
			return r, err
		}
	}
	r.RSS = rss.stop()
	return r, nil
}

// extraLoads runs the open loop at rate (when above 0) and then the saturated run.
func extraLoads(cfg benchConfig, w *workload, url, name string, rate float64) (open, sat loadResult, err error) {
	if rate > 0 && cfg.openDuration > 0 {
		fmt.Fprintf(os.Stderr, "bench: %s: open loop at %s requests/s for %v (up to %d connections)\n", name, num(rate), cfg.openDuration, cfg.openConns)
		lc := cfg.load.config(url, w)
		lc.Duration, lc.Conns, lc.Rate, lc.Seed = cfg.openDuration, cfg.openConns, rate, cfg.load.seed+101
		if open, err = runLoad(lc); err != nil {
			return open, sat, err
		}
		fmt.Fprintf(os.Stderr, "bench: %s: open loop: %s answered/s, p50 %s, p99 %s, p99.9 %s, max %s, sent late p99 %s (over %v late: %s every connection busy, %s generator late), status %v\n", name,
			num(open.PerSecond(open.Sent-open.Errors)), ms(open.P50), ms(open.P99), ms(open.P999), ms(open.Max), ms(open.LagP99),
			lateAfter, percentOf(open.LateBusy, open.Sent), percentOf(open.LateWoke, open.Sent), open.Status)
	}
	if cfg.satConns > 0 && cfg.satDuration > 0 {
		fmt.Fprintf(os.Stderr, "bench: %s: saturated with %d connections for %v\n", name, cfg.satConns, cfg.satDuration)
		lc := cfg.load.config(url, w)
		lc.Duration, lc.Conns, lc.Seed = cfg.satDuration, cfg.satConns, cfg.load.seed+202
		if sat, err = runLoad(lc); err != nil {
			return open, sat, err
		}
		fmt.Fprintf(os.Stderr, "bench: %s: %d connections: %s answered/s, p50 %s, p99 %s, p99.9 %s, max %s, status %v\n", name, cfg.satConns,
			num(sat.PerSecond(sat.Sent-sat.Errors)), ms(sat.P50), ms(sat.P99), ms(sat.P999), ms(sat.Max), sat.Status)
	}
	return open, sat, nil
}

// benchCollector starts loendur serve on a fresh database of the engine, loads it, waits
// until every accepted event is visible, runs the open loop at openRate and the
// saturated run, waits again, stops it with SIGTERM and counts what is stored.
func benchCollector(cfg benchConfig, w *workload, tmp, engine, geoPath string, openRate float64) (run, error) {
	ctx := context.Background()
	r := run{Name: engine, Engine: engine, Rejected: map[string]float64{}}
	var dsn string
	switch engine {
	case "server":
		dsn = fmt.Sprintf("clickhouse://%s/loendur_bench_%d", cfg.chAddr, time.Now().Unix())
		r.Name = "ClickHouse server"
	case "chdb":
		dsn = "chdb://" + filepath.Join(tmp, "chdb")
		r.Name = "embedded chDB"
	}
	addr, err := freeAddr()
	if err != nil {
		return r, err
	}
	args := []string{"serve", "--addr", addr, "--db", dsn, "--site", cfg.load.site,
		"--rate-limit", "-1", "--trusted-proxy", "127.0.0.1/32",
		"--queue-size", strconv.Itoa(cfg.queueSize), "--batch-size", strconv.Itoa(cfg.batchSize), // 0: the engine's default
		"--flush-interval", cfg.flushInterval.String(), "--accept-log-sync", cfg.acceptSync.String(), "--spool", filepath.Join(tmp, engine+"-spool")}
	if geoPath != "" {
		args = append(args, "--geoip", geoPath)
	}
	r.Log = filepath.Join(tmp, engine+".log")
	p, err := startProcess(r.Log, cfg.loendur, args...)
	if err != nil {
		return r, err
	}
	defer p.stop(time.Minute)
	base := "http://" + addr
	if err := waitHTTP(p, base+"/readyz", 90*time.Second); err != nil {
		return r, err
	}
	if engine == "server" {
		defer dropDatabase(dsn)
	}
	// Wait until the last accepted event is visible. On the server that is
	// SELECT count() FROM events, on a connection opened before the load; chDB's folder
	// belongs to the collector while it runs, so there it is the collector's count of
	// inserted rows (an insert that returned is visible to the next query).
	var visibleCount func() (uint64, error)
	if engine == "server" {
		db, err := store.Open(ctx, dsn, store.Options{})
		if err != nil {
			return r, err
		}
		defer db.Close()
		r.Version = db.Info().Version
		visibleCount = func() (uint64, error) { return selectCount(ctx, db) }
	} else {
		visibleCount = func() (uint64, error) {
			m, err := scrape(base + "/metrics")
			return uint64(m.sum("loendur_events_stored_total")), err
		}
	}
	before, err := scrape(base + "/metrics")
	if err != nil {
		return r, err
	}
	pid, chPid := p.cmd.Process.Pid, 0
	if engine == "server" {
		chPid = clickhousePid()
	}
	r.IdleRSS = readStatus(pid)["VmRSS"]
	rss := sampleRSS(pid)
	fmt.Fprintf(os.Stderr, "bench: loendur on %s (%s): loading for %v with %d connections\n", engine, addr, cfg.load.duration, cfg.load.conns)
	var perf *exec.Cmd
	if cfg.perfDir != "" {
		if perf, err = startPerf(cfg.perfDir, engine, pid, cfg.load.duration); err != nil {
			return r, err
		}
	}
	l1, cpu0 := load1(), snapCPU(pid, os.Getpid(), chPid)
	if r.Load, err = runLoad(cfg.load.config(base+"/api/event", w)); err != nil {
		return r, err
	}
	if perf != nil {
		if err := perf.Wait(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: perf record:", err)
		}
	}

	r.Drained = waitVisible(engine, visibleCount, uint64(r.Load.Accepted), cfg.waitStored)
	r.Visible = time.Since(r.Load.Start)
	// CPU over the whole end-to-end window: the load and the drain after it.
	r.CPU = share(cpu0, snapCPU(pid, os.Getpid(), chPid), l1)
	after, err := scrape(base + "/metrics")
	if err != nil {
		return r, err
	}
	r.Inserts = after.sum("loendur_batch_size_count") - before.sum("loendur_batch_size_count")
	r.FlushSum = after.sum("loendur_flush_duration_seconds_sum") - before.sum("loendur_flush_duration_seconds_sum")
	r.FlushMax = after.histogramMax("loendur_flush_duration_seconds")
	r.UnsyncedEvents = after.sum("loendur_accept_log_unsynced_events_peak")
	r.UnsyncedSeconds = after.sum("loendur_accept_log_unsynced_seconds_peak")
	r.Fsyncs = after.sum("loendur_accept_log_unsynced_age_seconds_count") - before.sum("loendur_accept_log_unsynced_age_seconds_count")
	r.Mallocs = after.sum("go_memstats_mallocs_total") - before.sum("go_memstats_mallocs_total")
	r.AllocB = after.sum("go_memstats_alloc_bytes_total") - before.sum("go_memstats_alloc_bytes_total")
	r.GCs = after.sum("go_gc_duration_seconds_count") - before.sum("go_gc_duration_seconds_count")

	// The open-loop and saturated runs, on the same collector; the per-event rows above
	// describe the first run only. Everything they accepted must be stored too.
	if r.Open, r.Sat, err = extraLoads(cfg, w, base+"/api/event", r.Name, openRate); err != nil {
		return r, err
	}
	if r.Open.Sent > 0 || r.Sat.Sent > 0 {
		r.Drained = waitVisible(engine, visibleCount, uint64(r.accepted()), cfg.waitStored) && r.Drained
		if after, err = scrape(base + "/metrics"); err != nil {
			return r, err
		}
	}
	r.RSS = rss.stop()
	r.Dropped = after.sum("loendur_events_dropped_total") - before.sum("loendur_events_dropped_total")
	r.InsertErr = after.sum("loendur_insert_errors_total") - before.sum("loendur_insert_errors_total")
	for reason, v := range after.byLabel("loendur_events_rejected_total", "reason") {
		if v -= before.byLabel("loendur_events_rejected_total", "reason")[reason]; v > 0 {
			r.Rejected[reason] = v
		}
	}

	// Stop the collector as an operator would and count from the database itself.
	if err := p.stop(time.Minute); err != nil {
		return r, fmt.Errorf("collector did not stop cleanly: %w (see %s)", err, r.Log)
	}
	n, v, info, err := inspectEvents(ctx, dsn)
	if err != nil {
		return r, fmt.Errorf("count stored events: %w", err)
	}
	r.Stored, r.Variety = n, v
	if r.Version == "" {
		r.Version = info.Version
	}
	return r, nil
}

// waitVisible polls visibleCount until it reaches want, for at most wait.
func waitVisible(engine string, visibleCount func() (uint64, error), want uint64, wait time.Duration) bool {
	give := time.Now().Add(wait)
	for {
		n, err := visibleCount()
		if err == nil && n >= want {
			return true
		}
		if time.Now().After(give) {
			fmt.Fprintf(os.Stderr, "bench: %s: only %d of %d accepted events visible after %v (last error: %v)\n", engine, n, want, wait, err)
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// accepted is every event the collector answered 202 in all of a run's loads.
func (r run) accepted() int64 { return r.Load.Accepted + r.Open.Accepted + r.Sat.Accepted }

// startPerf samples the collector's stacks for most of the load, skipping the first second.
func startPerf(dir, engine string, pid int, d time.Duration) (*exec.Cmd, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, engine+".perf.data")
	span := max(d-2*time.Second, time.Second)
	cmd := exec.Command("sh", "-c", fmt.Sprintf("sleep 1; exec perf record -q -F 997 -g -p %d -o %s -- sleep %.1f", pid, out, span.Seconds()))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: recording %s into %s (perf report -i %s --children)\n", engine, out, out)
	return cmd, nil
}

func dropDatabase(dsn string) {
	i := strings.LastIndex(dsn, "/")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, dsn[:i]+"/default", store.Options{})
	if err != nil {
		return
	}
	defer db.Close()
	if err := db.Exec(ctx, "DROP DATABASE IF EXISTS "+dsn[i+1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench: drop database:", err)
	}
}

// --- processes ---------------------------------------------------------------

type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	once   sync.Once
	log    string
}

var (
	procMu sync.Mutex
	procs  []*process
)

func startProcess(logPath, bin string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = os.Environ()
	// Should this driver die without cleaning up, the server goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	procMu.Lock()
	procs = append(procs, p)
	procMu.Unlock()
	return p, nil
}

// stop sends SIGTERM and waits up to timeout for the process to exit, then kills it.
// It returns the process's exit error the first time it is called.
func (p *process) stop(timeout time.Duration) error {
	var err error
	p.once.Do(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(timeout):
				_ = p.cmd.Process.Kill()
				<-p.exited
				err = fmt.Errorf("killed after %v without exiting", timeout)
				return
			}
		}
		var exit *exec.ExitError
		if errors.As(p.err, &exit) && exit.ExitCode() != 0 {
			err = fmt.Errorf("%w; last lines of %s:\n%s", p.err, p.log, tail(p.log, 10))
		}
	})
	return err
}

func killAll() {
	procMu.Lock()
	defer procMu.Unlock()
	for _, p := range procs {
		p.stop(30 * time.Second)
	}
}

// stopOnSignal stops the servers this run started when the run itself is interrupted.
func stopOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-ch
		fmt.Fprintln(os.Stderr, "bench: interrupted; stopping servers")
		killAll()
		os.Exit(128 + int(s.(syscall.Signal)))
	}()
}

func waitHTTP(p *process, url string, timeout time.Duration) error {
	give := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited at start (%v); last lines of %s:\n%s", p.cmd.Path, p.err, p.log, tail(p.log, 10))
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(give) {
			return fmt.Errorf("%s not ready after %v; see %s", url, timeout, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// --- resident memory -----------------------------------------------------------

// rssPeak is the most memory the process held: VmHWM (the kernel's high-water mark of
// the resident set) and the largest anonymous and file-backed parts seen while sampling.
type rssPeak struct {
	HWM, Anon, File uint64 // bytes
}

type rssSampler struct {
	pid  int
	done chan struct{}
	out  chan rssPeak
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, done: make(chan struct{}), out: make(chan rssPeak, 1)}
	go func() {
		var peak rssPeak
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			st := readStatus(pid)
			peak.HWM = max(peak.HWM, st["VmHWM"])
			peak.Anon = max(peak.Anon, st["RssAnon"])
			peak.File = max(peak.File, st["RssFile"])
			select {
			case <-s.done:
				s.out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() rssPeak {
	close(s.done)
	return <-s.out
}

// readStatus returns the kB fields of /proc/PID/status in bytes.
func readStatus(pid int) map[string]uint64 {
	out := map[string]uint64{}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(rest)
		if !ok || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		if v, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
			out[name] = v << 10
		}
	}
	return out
}

// --- Prometheus text ---------------------------------------------------------------

// metrics is a scraped /metrics page: each sample line as series → value.
type metrics map[string]float64

func scrape(url string) (metrics, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	m := metrics{}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		i := bytes.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(string(line[i+1:]), 64)
		if err != nil {
			continue
		}
		m[string(line[:i])] = v
	}
	return m, nil
}

// sum adds every series of the metric name, whatever its labels.
func (m metrics) sum(name string) float64 {
	var total float64
	for series, v := range m {
		if series == name || strings.HasPrefix(series, name+"{") {
			total += v
		}
	}
	return total
}

// byLabel returns the series of name by the value of one label.
func (m metrics) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	prefix := name + "{"
	for series, v := range m {
		if !strings.HasPrefix(series, prefix) {
			continue
		}
		_, rest, ok := strings.Cut(series, label+`="`)
		if !ok {
			continue
		}
		value, _, _ := strings.Cut(rest, `"`)
		out[value] += v
	}
	return out
}

// histogramMax is the upper bound of the lowest bucket that holds every observation.
func (m metrics) histogramMax(name string) float64 {
	count := m.sum(name + "_count")
	best := 0.0
	found := false
	for series, v := range m {
		if !strings.HasPrefix(series, name+"_bucket{") || v < count {
			continue
		}
		_, rest, _ := strings.Cut(series, `le="`)
		le, _, _ := strings.Cut(rest, `"`)
		b, err := strconv.ParseFloat(le, 64)
		if err != nil {
			continue
		}
		if !found || b < best {
			best, found = b, true
		}
	}
	return best
}

// cpus is the machine's CPU count, for the report.
func cpus() int { return runtime.NumCPU() }
