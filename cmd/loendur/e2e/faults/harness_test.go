package faults

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/websystems/loendur/cmd/loendur/e2e/e2eproc"
	"github.com/websystems/loendur/internal/testenv"
	"github.com/websystems/loendur/internal/testenv/chserver"
)

// loendurBin is the binary under test, built once by TestMain.
var loendurBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // every test skips itself; nothing to build
	}
	e2eproc.Main(m, "faults", &loendurBin)
}

const (
	site     = "fault.test"
	database = "loendur"
)

// needFaultTools skips (or, under CI=true, fails) a test when the ClickHouse binaries are
// missing, with the semantics of internal/testenv, and skips it under -short.
func needFaultTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("fault tests run real servers for minutes; skipped with -short")
	}
	testenv.ClickHouseBinaries(t)
}

// ---------------------------------------------------------------------------------
// ClickHouse server

// chServer is one throwaway ClickHouse server owned by one test: its own data folder
// and ports, started, stopped, killed and restarted on the same folder.
type chServer struct {
	*chserver.Server
	t *testing.T
}

// newClickHouse starts a fresh server and kills it when the test ends.
func newClickHouse(t *testing.T) *chServer {
	t.Helper()
	needFaultTools(t)
	s, err := chserver.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("ClickHouse error log (%s):\n%s", s.Dir, chserver.ErrorLog(s.Dir, 30))
		}
	})
	return &chServer{Server: s, t: t}
}

// start starts the server again on the same folder and ports.
func (s *chServer) start() {
	s.t.Helper()
	began := time.Now()
	if err := s.Restart(); err != nil {
		s.t.Fatalf("restart ClickHouse: %v", err)
	}
	s.t.Logf("ClickHouse started again in %s", time.Since(began).Round(time.Millisecond))
}

// stop sends SIGTERM and waits for the server to exit (SIGKILL after a minute).
func (s *chServer) stop() { s.Stop() }

// kill sends SIGKILL and waits for the server to exit.
func (s *chServer) kill() { s.Kill() }

func (s *chServer) dsn() string { return "clickhouse://" + s.Addr() + "/" + database }

// dbArgs are the collector's flags that point it at the server.
func (s *chServer) dbArgs() []string { return []string{"--db", s.dsn()} }

// storage is where a collector stores: one server (chServer) or the local cluster
// (clusterDB, cluster_test.go). The checks below read it through query.
type storage interface {
	dbArgs() []string
	query(db, q string) (string, error)
}

// query runs a query with clickhouse-client and returns its TabSeparated output.
func (s *chServer) query(db, q string) (string, error) { return s.Query(db, q) }

// ---------------------------------------------------------------------------------
// The collector

// collector is one running `loendur serve`.
type collector struct{ *e2eproc.Process }

// startCollector launches loendur serve against ch with the spool folder spoolDir and
// waits until /readyz answers 200. The defaults suit a load test: the test's site,
// 127.0.0.1 as trusted proxy (the load varies X-Forwarded-For) and no rate limit.
func startCollector(t *testing.T, ch storage, spoolDir string, extra ...string) *collector {
	t.Helper()
	args := append(ch.dbArgs(), "--site", site,
		"--trusted-proxy", "127.0.0.1/32", "--rate-limit", "-1", "--spool", spoolDir)
	return &collector{e2eproc.Start(t, e2eproc.Config{Bin: loendurBin, Args: append(args, extra...),
		ReadyWait: 90 * time.Second, LogLines: 60})}
}

// waitMetric polls /metrics until ok(value of name) or timeout, and returns the last
// value seen.
func (c *collector) waitMetric(name string, timeout time.Duration, ok func(float64) bool) (float64, bool) {
	deadline := time.Now().Add(timeout)
	last := -1.0
	for {
		if m, err := c.Metrics(); err == nil {
			last = m[name]
			if ok(last) {
				return last, true
			}
		}
		if time.Now().After(deadline) || c.Exited() {
			return last, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------------
// Load generator

// loadGen posts valid page views at a steady, bounded rate from several goroutines.
// Every event carries a unique marker (prop "n"), stored in prop_values, and the
// generator remembers what each marker was answered.
type loadGen struct {
	target  atomic.Pointer[[]string] // collectors' base URLs, taken in turn
	rate    int
	workers int
	padLen  int // a prop "pad" of this many random hex digits on every event, to make events larger
	seq     atomic.Int64
	client  *http.Client
	stop    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup

	mu         sync.Mutex
	accepted   map[string]time.Time // marker → when its 202 arrived
	refused    map[string]string    // marker → "status reason" of a definite refusal
	uncertain  int                  // requests that got no answer (connection refused, reset, timeout)
	statuses   map[string]int       // "202", "503 queue_full", "error", ...
	unexpected []string             // answers other than 202 and 503 queue_full
	first503   time.Time
	last202    time.Time
}

// startLoad starts rate events/s from workers goroutines against the collector at base
// (http://host:port). Stop it before reading the tally.
func startLoad(t *testing.T, base string, rate, workers, padLen int) *loadGen {
	l := &loadGen{rate: rate, workers: workers, padLen: padLen, stop: make(chan struct{}),
		accepted: map[string]time.Time{}, refused: map[string]string{}, statuses: map[string]int{},
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: workers, DisableCompression: true,
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}}}
	l.setTarget(base)
	interval := time.Duration(float64(time.Second) * float64(workers) / float64(rate))
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			// Spread the workers over the interval so the load is even.
			select {
			case <-l.stop:
				return
			case <-time.After(interval * time.Duration(w) / time.Duration(workers)):
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				l.send()
			}
		}()
	}
	t.Cleanup(l.Stop)
	return l
}

func (l *loadGen) setTarget(bases ...string) { l.target.Store(&bases) }

// Stop ends the load and waits for requests in flight.
func (l *loadGen) Stop() {
	l.stopped.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.client.CloseIdleConnections()
}

func (l *loadGen) send() {
	i := l.seq.Add(1)
	marker := fmt.Sprintf("m%08d", i)
	props := map[string]string{"n": marker}
	if l.padLen > 0 {
		pad := make([]byte, (l.padLen+1)/2)
		rand.Read(pad)
		props["pad"] = hex.EncodeToString(pad)[:l.padLen]
	}
	body := e2eproc.Beacon(site, "pageview", fmt.Sprintf("https://%s/page/%d", site, i%97),
		map[string]any{"width": 1280, "props": props})
	xff := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	targets := *l.target.Load()
	r, err := e2eproc.Send(l.client, http.MethodPost, targets[int(i)%len(targets)]+"/api/event", body, map[string]string{"X-Forwarded-For": xff})
	status, reason := r.Status, r.Reason
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		l.uncertain++
		l.statuses["error"]++
	case status == http.StatusAccepted:
		l.accepted[marker] = now
		l.statuses["202"]++
		l.last202 = now
	default:
		key := fmt.Sprintf("%d %s", status, reason)
		l.refused[marker] = key
		l.statuses[key]++
		if status == http.StatusServiceUnavailable && reason == "queue_full" {
			if l.first503.IsZero() {
				l.first503 = now
			}
		} else if len(l.unexpected) < 20 {
			l.unexpected = append(l.unexpected, marker+": "+key)
		}
	}
}

// acceptedCount is the number of events answered 202 so far.
func (l *loadGen) acceptedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accepted)
}

func (l *loadGen) count(status string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statuses[status]
}

func (l *loadGen) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]string, 0, len(l.statuses))
	for k := range l.statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %d; ", k, l.statuses[k])
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// checkAnswers fails the test for any answer other than 202 and 503 queue_full (a
// fault must never turn into a 500 or a refusal of a valid event).
func (l *loadGen) checkAnswers(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.unexpected) > 0 {
		t.Errorf("valid events got answers other than 202 or 503 queue_full (first %d): %v", len(l.unexpected), l.unexpected)
	}
}

// ---------------------------------------------------------------------------------
// What is stored

// markers reads how many rows carry each marker.
func markers(s storage) (map[string]uint64, error) {
	out, err := s.query(database, "SELECT v, count() FROM events ARRAY JOIN prop_keys AS k, prop_values AS v WHERE k = 'n' GROUP BY v")
	if err != nil {
		return nil, err
	}
	m := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		v, n, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		c, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		m[v] = c
	}
	return m, nil
}

// tally compares what the load generator was told with what ClickHouse holds.
type tally struct {
	accepted      int
	stored        int               // distinct accepted markers found
	rows          uint64            // rows with a marker
	missing       []string          // accepted, not stored
	duplicated    map[string]uint64 // stored more than once
	refusedStored []string          // answered with a refusal, stored anyway
	extra         int               // stored without a 202 having arrived (answer lost)
	acceptedAt    map[string]time.Time
}

// collect waits until every accepted marker outside allowMissing is stored (or timeout),
// then, when c is given and running, until its queue and spool are empty, and reads the
// final state.
func collect(t *testing.T, ch storage, l *loadGen, c *collector, timeout time.Duration, allowMissing map[string]bool) tally {
	t.Helper()
	l.mu.Lock()
	accepted := make(map[string]time.Time, len(l.accepted))
	for k, v := range l.accepted {
		accepted[k] = v
	}
	refused := make(map[string]string, len(l.refused))
	for k, v := range l.refused {
		refused[k] = v
	}
	l.mu.Unlock()

	began := time.Now()
	deadline := began.Add(timeout)
	var stored map[string]uint64
	// When the collector has nothing left to write (empty queue and spool) and the
	// stored count has not moved for a while, waiting longer changes nothing.
	var settled time.Time
	lastRows := -1
	for {
		m, err := markers(ch)
		if err == nil {
			stored = m
			waiting := 0
			for k := range accepted {
				if stored[k] == 0 && !allowMissing[k] {
					waiting++
				}
			}
			if waiting == 0 {
				break
			}
			idle := false
			if c != nil && !c.Exited() {
				if mm, err := c.Metrics(); err == nil {
					idle = mm["loendur_spool_batches"] == 0 && mm["loendur_queue_length"] == 0
				}
			}
			switch {
			case !idle || len(stored) != lastRows:
				settled = time.Time{}
			case settled.IsZero():
				settled = time.Now()
			case time.Since(settled) > 5*time.Second:
				t.Logf("%d accepted events still missing with the collector idle for 5 s: giving up waiting", waiting)
				deadline = time.Now()
			}
			lastRows = len(stored)
		} else if time.Now().After(deadline) {
			t.Fatalf("read markers: %v", err)
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if c != nil && !c.Exited() {
		// Let replay finish, so that a late duplicate would be seen.
		rest := max(time.Until(deadline), 10*time.Second)
		c.waitMetric("loendur_spool_batches", rest, func(v float64) bool { return v == 0 })
		c.waitMetric("loendur_queue_length", 10*time.Second, func(v float64) bool { return v == 0 })
		m, err := markers(ch)
		if err != nil {
			t.Fatalf("read markers: %v", err)
		}
		stored = m
	}
	t.Logf("stored state read %s after the load stopped", time.Since(began).Round(time.Millisecond))

	r := tally{accepted: len(accepted), duplicated: map[string]uint64{}, acceptedAt: accepted}
	for k, n := range stored {
		r.rows += n
		if n > 1 {
			r.duplicated[k] = n
		}
		if _, ok := accepted[k]; ok {
			r.stored++
		} else if why, ok := refused[k]; ok {
			r.refusedStored = append(r.refusedStored, k+" ("+why+")")
		} else {
			r.extra++
		}
	}
	for k := range accepted {
		if stored[k] == 0 {
			r.missing = append(r.missing, k)
		}
	}
	slices.Sort(r.missing)
	slices.Sort(r.refusedStored)
	t.Logf("accepted %d, stored %d of them (%d rows with a marker), missing %d, duplicated %d, stored without a 202 having arrived %d, refused but stored %d",
		r.accepted, r.stored, r.rows, len(r.missing), len(r.duplicated), r.extra, len(r.refusedStored))
	return r
}

// assertExactlyOnce fails the test unless every accepted event is stored exactly once
// and no refused event is stored.
func assertExactlyOnce(t *testing.T, ch storage, r tally) {
	t.Helper()
	if len(r.missing) > 0 {
		t.Errorf("%d of %d events answered 202 are missing from ClickHouse (e.g. %v)", len(r.missing), r.accepted, first(r.missing, 10))
	}
	assertNoDuplicates(t, ch, r)
	if len(r.refusedStored) > 0 {
		t.Errorf("%d events answered with a refusal are stored anyway (e.g. %v)", len(r.refusedStored), first(r.refusedStored, 10))
	}
}

// assertRollupsAgree fails the test when the rollup tables, kept by materialized views,
// do not count what the events table holds: an insert killed between its events part
// and the views' parts must have its days' rollups rebuilt after the replay. That
// rebuild waits until nothing writes the site (collector, repairDue: no event stored
// for 10 s, checked every 5 s; on a cluster each rebuild takes a few mutations), so the
// counts are compared until they agree or two minutes have passed.
func assertRollupsAgree(t *testing.T, ch storage) {
	t.Helper()
	var f []string
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		out, err := ch.query(database, `SELECT
			(SELECT countIf(name = 'pageview') FROM events),
			(SELECT sum(pageviews) FROM page_stats_hourly),
			(SELECT sum(pageviews) FROM page_stats_daily),
			(SELECT countIf(name NOT IN ('pageview', 'engagement')) FROM events),
			(SELECT sum(events) FROM event_stats_hourly WHERE prop_key = ''),
			(SELECT sum(events) FROM event_stats_daily WHERE prop_key = '')`)
		if err != nil {
			t.Fatal(err)
		}
		f = strings.Fields(out)
		if len(f) == 6 && f[0] == f[1] && f[0] == f[2] && f[3] == f[4] && f[3] == f[5] {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	t.Errorf("rollups disagree with events two minutes after the load stopped: page views in events, hourly, daily; custom events in events, hourly, daily: %v", f)
}

// assertNoDuplicates fails the test for any marker stored twice, and says whether the
// copies are one event inserted twice (same event_id: a batch replayed after an insert
// that had landed) or two events.
func assertNoDuplicates(t *testing.T, ch storage, r tally) {
	t.Helper()
	if len(r.duplicated) == 0 {
		return
	}
	keys := make([]string, 0, len(r.duplicated))
	extraRows := uint64(0)
	for k, n := range r.duplicated {
		keys = append(keys, k)
		extraRows += n - 1
	}
	slices.Sort(keys)
	out, err := ch.query(database, "SELECT count(), uniqExact(event_id), uniqExact(arrayElement(prop_values, indexOf(prop_keys, 'n'))) FROM events WHERE has(prop_keys, 'n')")
	if err != nil {
		out = err.Error()
	}
	t.Errorf("%d markers are stored more than once (%d extra rows; e.g. %v); rows, distinct event ids, distinct markers: %s",
		len(r.duplicated), extraRows, first(keys, 10), strings.TrimSpace(out))
}

func first[T any](s []T, n int) []T {
	return s[:min(n, len(s))]
}

// ---------------------------------------------------------------------------------
// Small helpers

// sleepOrFail sleeps d, failing the test early if the collector dies meanwhile.
func sleepOrFail(t *testing.T, c *collector, d time.Duration) {
	t.Helper()
	select {
	case <-c.Done():
		t.Fatalf("loendur exited unexpectedly (%v):\n%s", c.State(), e2eproc.Tail(c.Log(), 40))
	case <-time.After(d):
	}
}
