package acceptlog

import (
	"os"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/store"
	"golang.org/x/sys/unix"
)

// openSynced opens and resets a log in a fresh folder with its metrics on reg.
func openSynced(t *testing.T, opts Options) *Log {
	t.Helper()
	l, _, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	return l
}

// sample is one gathered series: a gauge's value, or a histogram's count and sum.
type sample struct{ value, count, sum float64 }

func gather(t *testing.T, reg *prometheus.Registry, name string) sample {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if h := m.GetHistogram(); h != nil {
			return sample{count: float64(h.GetSampleCount()), sum: h.GetSampleSum()}
		}
		return sample{value: m.GetGauge().GetValue() + m.GetCounter().GetValue()}
	}
	t.Fatalf("no metric %s", name)
	return sample{}
}

// fsyncs is the number of fsyncs done: each is observed once in the age histogram.
func fsyncs(t *testing.T, reg *prometheus.Registry) int {
	t.Helper()
	return int(gather(t, reg, "loendur_accept_log_unsynced_age_seconds").count)
}

func wantFsyncs(t *testing.T, reg *prometheus.Registry, when string, want int) {
	t.Helper()
	synctest.Wait()
	if got := fsyncs(t, reg); got != want {
		t.Fatalf("%s: %d fsyncs, want %d", when, got, want)
	}
}

// The syncer fsyncs SyncInterval after a write, and never while nothing new is written.
func TestPeriodicSyncOnlyAfterWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		l := openSynced(t, Options{SyncInterval: 100 * time.Millisecond, Registry: reg})

		time.Sleep(time.Minute)
		wantFsyncs(t, reg, "idle since start", 0)

		appendN(t, l, 3)
		time.Sleep(99 * time.Millisecond)
		wantFsyncs(t, reg, "99 ms after a write", 0)
		time.Sleep(time.Millisecond)
		wantFsyncs(t, reg, "100 ms after a write", 1)

		time.Sleep(time.Minute)
		wantFsyncs(t, reg, "idle for a minute after the fsync", 1)

		// A steady trickle: one fsync per interval, not one per write.
		for range 10 {
			appendN(t, l, 1)
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Minute)
		wantFsyncs(t, reg, "after 200 ms of writes", 3)

		// Delivering fsyncs at once; the syncer then finds nothing new.
		appendN(t, l, 2)
		if err := l.Delivering(1, 15, uuid.New()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		wantFsyncs(t, reg, "after Delivering", 4)

		// Close fsyncs what the syncer has not reached yet.
		appendN(t, l, 1)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		wantFsyncs(t, reg, "after Close", 5)
	})
}

// Without a SyncInterval the log is fsynced only when a batch is being delivered (and
// at rotation), as before the syncer: nothing by time, nothing at Close.
func TestNoSyncIntervalSyncsOnlyAtDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		l := openSynced(t, Options{Registry: reg})
		appendN(t, l, 5)
		time.Sleep(time.Hour)
		wantFsyncs(t, reg, "an hour after a write", 0)
		if err := l.Delivering(1, 5, uuid.New()); err != nil {
			t.Fatal(err)
		}
		wantFsyncs(t, reg, "after Delivering", 1)
		if err := l.Delivered(5); err != nil {
			t.Fatal(err)
		}
		appendN(t, l, 1)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		wantFsyncs(t, reg, "after Delivered and Close", 1)
	})
}

// The metrics follow a known pattern of appends and fsyncs.
func TestUnsyncedPeaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		l := openSynced(t, Options{SyncInterval: 100 * time.Millisecond, Registry: reg})
		peaks := func(when string, events, seconds float64) {
			t.Helper()
			synctest.Wait()
			if got := gather(t, reg, "loendur_accept_log_unsynced_events_peak").value; got != events {
				t.Errorf("%s: unsynced events peak %g, want %g", when, got, events)
			}
			if got := gather(t, reg, "loendur_accept_log_unsynced_seconds_peak").value; got != seconds {
				t.Errorf("%s: unsynced seconds peak %g, want %g", when, got, seconds)
			}
		}
		peaks("at start", 0, 0)

		// 5 events, 30 ms later 7 more: one fsync, 100 ms after the first write, of 12.
		appendN(t, l, 5)
		time.Sleep(30 * time.Millisecond)
		appendN(t, l, 7)
		time.Sleep(time.Second)
		peaks("after 5 + 7 events", 12, 0.1)

		// Fewer events later: the peak stays.
		appendN(t, l, 2)
		time.Sleep(time.Second)
		peaks("after 2 more", 12, 0.1)

		// Delivering 40 ms after 20 events: 20 exposed for 40 ms; peak events rises.
		appendN(t, l, 20)
		time.Sleep(40 * time.Millisecond)
		if err := l.Delivering(15, 34, uuid.New()); err != nil {
			t.Fatal(err)
		}
		peaks("after Delivering", 20, 0.1)
		h := gather(t, reg, "loendur_accept_log_unsynced_age_seconds")
		if h.count != 3 || !near(h.sum, 0.1+0.1+0.04) {
			t.Errorf("age histogram: %g fsyncs, sum %g s; want 3, 0.24 s", h.count, h.sum)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		wantFsyncs(t, reg, "Close with nothing new", 3)

		// Without a syncer, the window is the time between deliveries.
		reg = prometheus.NewRegistry()
		l = openSynced(t, Options{Registry: reg})
		appendN(t, l, 4)
		time.Sleep(700 * time.Millisecond)
		appendN(t, l, 3)
		time.Sleep(300 * time.Millisecond)
		if err := l.Delivering(1, 7, uuid.New()); err != nil {
			t.Fatal(err)
		}
		peaks("one second between deliveries", 7, 1)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// Events written while an fsync runs may not be in it: they count as exposed until
// the next fsync, which comes SyncInterval after the first of them.
func TestWritesDuringFsyncStayExposed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		l, _, err := Open(t.TempDir(), Options{SyncInterval: 100 * time.Millisecond, Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		q := make(chan entry, 100)
		first := true
		l.beforeFsync = func() { // in the syncer, once the fsync's bookkeeping began
			if !first {
				return
			}
			first = false
			time.Sleep(10 * time.Millisecond)
			for i := range 4 {
				e := ev(100 + i)
				if err := l.Append(&e, func(seq uint64) { q <- entry{Seq: seq, Event: e} }); err != nil {
					t.Error(err)
				}
			}
		}
		if err := l.Reset(); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			e := ev(i)
			if err := l.Append(&e, func(seq uint64) { q <- entry{Seq: seq, Event: e} }); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(150 * time.Millisecond)
		// The first fsync returned at 110 ms: 3 + 4 events were exposed, the oldest 110 ms.
		wantFsyncs(t, reg, "150 ms after the first write", 1)
		if got := gather(t, reg, "loendur_accept_log_unsynced_events_peak").value; got != 7 {
			t.Errorf("unsynced events peak %g, want 7", got)
		}
		if got := gather(t, reg, "loendur_accept_log_unsynced_seconds_peak").value; !near(got, 0.11) {
			t.Errorf("unsynced seconds peak %g, want 0.11", got)
		}
		// The 4 written during it are fsynced 100 ms after they were written.
		time.Sleep(time.Minute)
		wantFsyncs(t, reg, "a minute later", 2)
		if h := gather(t, reg, "loendur_accept_log_unsynced_age_seconds"); !near(h.sum, 0.11+0.1) {
			t.Errorf("age histogram sum %g s, want 0.21 s", h.sum)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// A segment replaced when it was full may hold events written after the last fsync:
// the next fsync covers it, before the current segment.
func TestNextFsyncCoversReplacedSegments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		l := openSynced(t, Options{SegmentBytes: 512, Registry: reg})
		appendN(t, l, 10)
		l.mu.Lock()
		replaced := len(l.unsynced)
		l.mu.Unlock()
		if l.Segments() < 2 || replaced != l.Segments()-1 {
			t.Fatalf("%d segments, %d replaced and waiting for an fsync; want several, all but the current", l.Segments(), replaced)
		}
		time.Sleep(250 * time.Millisecond)
		if err := l.Delivering(1, 10, uuid.New()); err != nil {
			t.Fatal(err)
		}
		wantFsyncs(t, reg, "after the delivering mark", 1)
		l.mu.Lock()
		replaced = len(l.unsynced)
		l.mu.Unlock()
		l.wmu.Lock()
		unsynced := l.writtenSeq - l.syncedSeq
		l.wmu.Unlock()
		if replaced != 0 || unsynced != 0 {
			t.Errorf("after the fsync: %d replaced segments and %d events unsynced, want none", replaced, unsynced)
		}
		if got := gather(t, reg, "loendur_accept_log_unsynced_seconds_peak").value; got != 0.25 {
			t.Errorf("unsynced seconds peak %g, want 0.25 (the events waited for the delivering mark)", got)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// Appends, deliveries, rotations and the syncer at once (run with -race): every event
// is logged in queue order, what was not delivered is recovered, and after Close
// nothing written is left unsynced. Real time, so it asserts no timing.
func TestSyncerWithConcurrentAppendsAndRotation(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	l, _, err := Open(dir, Options{SegmentBytes: 4096, SyncInterval: time.Millisecond, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	const workers, each, batch = 6, 400, 37
	q := make(chan entry, workers*each)
	var queued []store.Event
	writerDone := make(chan error)
	go func() {
		for e := range q {
			queued = append(queued, e.Event)
			if seq := e.Seq; seq%batch == 0 {
				if err := l.Delivering(seq-batch+1, seq, uuid.New()); err != nil {
					writerDone <- err
					return
				}
				if err := l.Delivered(seq); err != nil {
					writerDone <- err
					return
				}
			}
		}
		writerDone <- nil
	}()
	appendConcurrently(t, l, q, workers, each)
	close(q)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.writtenSeq != workers*each || l.syncedSeq != l.writtenSeq || l.writes != l.syncedWrites {
		t.Errorf("after Close: written up to %d, synced up to %d (writes %d, synced %d); want all %d synced",
			l.writtenSeq, l.syncedSeq, l.writes, l.syncedWrites, workers*each)
	}
	if peak := gather(t, reg, "loendur_accept_log_unsynced_events_peak").value; peak < 1 || peak > workers*each {
		t.Errorf("unsynced events peak %g, want between 1 and %d", peak, workers*each)
	}
	if n := fsyncs(t, reg); n < 1 {
		t.Errorf("%d fsyncs", n)
	}
	delivered := len(queued) / batch * batch
	_, rec := open(t, dir)
	if rec.Pending != nil {
		t.Fatalf("pending = %+v", rec.Pending)
	}
	sameIDs(t, "undelivered", rec.Events, queued[delivered:])
}

// Records written after an fsync into a segment that is already in place take no page
// fault: its pages were mapped in ahead (prepare), and the fsync wrote back only the
// written range, leaving the pages beyond it writable. Without either, each 4 KB of
// records costs a fault in the handler that writes them. Counted for this thread only
// (RUSAGE_THREAD), so the runtime's own faults elsewhere do not count; Append allocates
// nothing, so no fresh heap page is touched here either.
func TestAppendsAfterAnFsyncTakeNoPageFault(t *testing.T) {
	l := openSynced(t, Options{})
	defer l.Close()
	e := ev(1)
	push := func(uint64) {}
	if err := l.Append(&e, push); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	seg := l.cur
	l.mu.Unlock()
	<-seg.prepared
	if err := l.Delivering(1, 1, uuid.New()); err != nil { // fsyncs
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadFaults(t)
	const records = 5000
	for range records {
		if err := l.Append(&e, push); err != nil {
			t.Fatal(err)
		}
	}
	faults := threadFaults(t) - before
	l.mu.Lock()
	written, rotated := seg.off, l.cur != seg
	l.mu.Unlock()
	if rotated || written < 100*os.Getpagesize() {
		t.Fatalf("the records filled %d bytes (rotated: %v); the test needs over 100 pages of one segment", written, rotated)
	}
	// A few: the page the fsync ended in is written again, and the runtime may touch a
	// fresh page of this goroutine's stack or of the heap. Without either half of the
	// change, every page faults.
	if faults > 16 {
		t.Errorf("%d records (%d pages) took %d page faults, want none", records, written/os.Getpagesize(), faults)
	}
}

func threadFaults(t *testing.T) int64 {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}
