package e2e

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/websystems/loendur/cmd/loendur/e2e/e2eproc"
)

// visitor returns the X-Forwarded-For of the i-th of many distinct visitors.
func visitor(i int) map[string]string {
	return map[string]string{"X-Forwarded-For": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}
}

// SIGTERM stores every queued event before the process exits.
func TestSIGTERMFlushesQueue(t *testing.T) {
	t.Parallel()
	d := newDB(t, "server")
	p := start(t, run{DB: d, Args: []string{"--site", site, "--trusted-proxy", "127.0.0.1/32",
		"--flush-interval", "1h", "--batch-size", "100000", "--rate-limit", "-1"}})
	const total = 500
	var wg sync.WaitGroup
	var failed atomic.Int64
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < total; i = int(next.Add(1)) - 1 {
				r, err := p.trySend("POST", event("pageview", fmt.Sprintf("https://site.test/p%d", i), nil), visitor(i))
				if err != nil || r.Status != 202 {
					failed.Add(1)
					t.Errorf("event %d: %d %s %v, want 202", i, r.Status, r.Reason, err)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	s := d.open(t)
	if n := count(t, s, "SELECT count() AS n FROM events"); n != 0 {
		t.Fatalf("%d rows stored before SIGTERM with --flush-interval 1h and --batch-size 100000, want 0", n)
	}
	code, took := p.Stop()
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	t.Logf("exited %s after SIGTERM", took)
	if n := count(t, s, "SELECT count() AS n FROM events"); n != total {
		t.Errorf("%d rows stored after SIGTERM, want %d", n, total)
	}
	if n := count(t, s, "SELECT uniqExact(event_id) AS n FROM events"); n != total {
		t.Errorf("%d distinct event ids, want %d", n, total)
	}
}

// SIGTERM while beacons keep arriving: every event answered 202 is stored, and the
// process still exits cleanly.
func TestSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	d := newDB(t, "server")
	p := start(t, run{DB: d, Args: []string{"--site", site, "--trusted-proxy", "127.0.0.1/32",
		"--flush-interval", "1h", "--rate-limit", "-1"}})
	var accepted atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			for i := w; ; i += 8 {
				select {
				case <-stop:
					return
				default:
				}
				r, err := p.trySend("POST", event("pageview", fmt.Sprintf("https://site.test/p%d", i), nil), visitor(i))
				if err != nil {
					continue // the server is going away: not accepted
				}
				switch r.Status {
				case 202:
					accepted.Add(1)
				case 503:
				default:
					t.Errorf("event %d: %d %s %s", i, r.Status, r.Reason, r.Body)
				}
			}
		})
	}
	for accepted.Load() < 300 && !p.Exited() {
		time.Sleep(10 * time.Millisecond)
	}
	code, _ := p.Stop()
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM under load, want 0", code)
	}
	s := d.open(t)
	// An event whose answer was lost as the connection closed may be stored without a
	// 202 having arrived; an event answered 202 and not stored is lost.
	n := count(t, s, "SELECT count() AS n FROM events")
	if n < uint64(accepted.Load()) {
		t.Errorf("%d rows stored, but %d events were answered 202", n, accepted.Load())
	}
	t.Logf("%d answered 202, %d stored", accepted.Load(), n)
}

// A full queue answers 503 queue_full instead of holding more events in memory, and
// nothing that was accepted is lost.
func TestQueueFullAnswers503(t *testing.T) {
	t.Parallel()
	d := newDB(t, "server")
	p := start(t, run{DB: d, Args: []string{"--site", site, "--trusted-proxy", "127.0.0.1/32",
		"--queue-size", "20", "--flush-interval", "1h", "--batch-size", "1000", "--rate-limit", "-1"}})
	before := p.metrics()[e2eproc.Rejected("queue_full")]
	accepted, full := 0, 0
	var statuses []int
	for i := range 25 {
		r := p.post(event("pageview", fmt.Sprintf("https://site.test/p%d", i), nil), visitor(i))
		statuses = append(statuses, r.Status)
		switch r.Status {
		case 202:
			accepted++
		case 503:
			full++
			checkRefusal(t, r, 503, "queue_full")
		default:
			t.Fatalf("event %d: %d %s %s, want 202 or 503", i, r.Status, r.Reason, r.Body)
		}
	}
	if accepted != 20 || full != 5 {
		t.Errorf("with --queue-size 20 and nothing flushed, 25 events got %v; want the first 20 accepted (202) and the last 5 refused (503)", statuses)
	}
	if got := p.metrics()[e2eproc.Rejected("queue_full")] - before; got != float64(full) {
		t.Errorf("%s went up by %g, want %d", e2eproc.Rejected("queue_full"), got, full)
	}
	p.stopClean()
	if n := len(d.events(t)); n != accepted {
		t.Errorf("%d rows stored after SIGTERM, want %d (every accepted event)", n, accepted)
	}
}
