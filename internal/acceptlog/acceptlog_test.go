package acceptlog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
)

// ev is the i-th event of a test: a page view with a prop.

// entry is an appended event with the sequence number Append gave it, as a test's
// queue holds it.
type entry struct {
	Seq   uint64
	Event store.Event
}

func ev(i int) store.Event {
	e := eventtest.Pageview("example.com", time.Unix(int64(1_700_000_000+i), 123).UTC(), "/p")
	e.VisitorID, e.PropKeys, e.PropValues = uint64(i), []string{"k"}, []string{"v"}
	return e
}

func open(t *testing.T, dir string) (*Log, *Recovered) {
	t.Helper()
	l, rec, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l, rec
}

// appendN logs n events and returns them as the writer would receive them.
func appendN(t *testing.T, l *Log, n int) []store.Event {
	t.Helper()
	q := make(chan entry, n)
	for i := range n {
		e := ev(i)
		if err := l.Append(&e, func(seq uint64) { q <- entry{Seq: seq, Event: e} }); err != nil {
			t.Fatal(err)
		}
	}
	close(q)
	out, _ := received(t, q)
	return out
}

// received drains a closed queue: the events, and the sequence number of the first. The
// numbers must follow one another in queue order.
func received(t *testing.T, q <-chan entry) (evs []store.Event, first uint64) {
	t.Helper()
	for e := range q {
		if len(evs) == 0 {
			first = e.Seq
		} else if want := first + uint64(len(evs)); e.Seq != want {
			t.Fatalf("queued event %d has sequence number %d, want %d", len(evs), e.Seq, want)
		}
		evs = append(evs, e.Event)
	}
	return evs, first
}

func ids(evs []store.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i := range evs {
		out[i] = evs[i].EventID
	}
	return out
}

func sameIDs(t *testing.T, what string, got, want []store.Event) {
	t.Helper()
	g, w := ids(got), ids(want)
	if len(g) != len(w) {
		t.Fatalf("%s: %d events, want %d", what, len(g), len(w))
	}
	for i := range g {
		if g[i] != w[i] {
			t.Fatalf("%s: event %d is %v, want %v", what, i, g[i], w[i])
		}
	}
}

func TestWriteReadBack(t *testing.T) {
	dir := t.TempDir()
	l, rec := open(t, dir)
	if rec.Pending != nil || len(rec.Events) != 0 {
		t.Fatalf("empty log recovered %+v", rec)
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	want := appendN(t, l, 50)
	// No Close: a SIGKILL closes nothing.
	_, rec = open(t, dir)
	if rec.Pending != nil {
		t.Fatal("pending batch without a delivering mark")
	}
	sameIDs(t, "recovered", rec.Events, want)
	if got := rec.Events[7]; got.VisitorID != want[7].VisitorID || !got.Timestamp.Equal(want[7].Timestamp) || got.PropValues[0] != "v" {
		t.Fatalf("event decoded as %+v, want %+v", got, want[7])
	}
}

func TestTornTailIgnored(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	want := appendN(t, l, 10)
	l.Close()
	path := filepath.Join(dir, name(1))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the last record in half; the nine before it are whole.
	if err := os.WriteFile(path, data[:len(data)-20], 0o600); err != nil {
		t.Fatal(err)
	}
	_, rec := open(t, dir)
	if rec.Damaged != 1 {
		t.Errorf("damaged = %d, want 1", rec.Damaged)
	}
	sameIDs(t, "recovered", rec.Events, want[:9])
	// Garbage after whole records: the same.
	if err := os.WriteFile(path, append(data, "garbage, not a record"...), 0o600); err != nil {
		t.Fatal(err)
	}
	_, rec = open(t, dir)
	sameIDs(t, "recovered", rec.Events, want)
}

func TestRecoveryRules(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	all := appendN(t, l, 30)
	// Batch 1..10 delivered, 11..20 being delivered, 21..30 only accepted.
	id1, id2 := uuid.New(), uuid.New()
	for _, err := range []error{l.Delivering(1, 10, id1), l.Delivered(10), l.Delivering(11, 20, id2)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	l2, rec := open(t, dir)
	if rec.Pending == nil || rec.Pending.ID != id2 {
		t.Fatalf("pending = %+v, want batch %v", rec.Pending, id2)
	}
	sameIDs(t, "pending", rec.Pending.Events, all[10:20])
	sameIDs(t, "undelivered", rec.Events, all[20:])

	// Once delivered, the pending batch is gone too.
	if err := l.Delivered(20); err != nil {
		t.Fatal(err)
	}
	_, rec = open(t, dir)
	if rec.Pending != nil {
		t.Fatalf("delivered batch still pending: %+v", rec.Pending)
	}
	sameIDs(t, "undelivered", rec.Events, all[20:])

	// Reset starts afresh: nothing is recovered twice, and numbering restarts at 1.
	if err := l2.Reset(); err != nil {
		t.Fatal(err)
	}
	more := appendN(t, l2, 3)
	if err := l2.Delivering(1, 2, uuid.New()); err != nil {
		t.Fatal(err)
	}
	if err := l2.Delivered(2); err != nil {
		t.Fatal(err)
	}
	_, rec = open(t, dir)
	if rec.Pending != nil {
		t.Fatalf("pending after reset: %+v", rec.Pending)
	}
	sameIDs(t, "after reset", rec.Events, more[2:])
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files after reset, want 1", len(entries))
	}
}

func TestDeliveredSegmentsRemoved(t *testing.T) {
	dir := t.TempDir()
	l, _, err := Open(dir, Options{SegmentBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	var seq uint64
	for range 20 {
		appendN(t, l, 10)
		if err := l.Delivering(seq+1, seq+10, uuid.New()); err != nil {
			t.Fatal(err)
		}
		seq += 10
		if err := l.Delivered(seq); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Segments(); n > 2 {
		t.Errorf("%d segments in use, want at most 2", n)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != l.Segments() {
		t.Errorf("%d files, %d segments", len(entries), l.Segments())
	}
	extra := appendN(t, l, 4)
	_, rec := open(t, dir)
	if rec.Pending != nil {
		t.Fatalf("pending = %+v", rec.Pending)
	}
	sameIDs(t, "undelivered", rec.Events, extra)
}

// Concurrent appends: every event is logged, in the order of the queue.
func TestConcurrentAppendsKeepQueueOrder(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 500
	q := make(chan entry, workers*each)
	appendConcurrently(t, l, q, workers, each)
	close(q)
	queued, first := received(t, q)
	if first != 1 {
		t.Fatalf("first queued event has sequence number %d, want 1", first)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	_, rec := open(t, dir)
	sameIDs(t, "recovered", rec.Events, queued)
}

// appendConcurrently has workers goroutines log each events apiece, sending them to q,
// and returns once all are logged.
func appendConcurrently(t *testing.T, l *Log, q chan<- entry, workers, each int) {
	t.Helper()
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				e := ev(w*each + i)
				if err := l.Append(&e, func(seq uint64) { q <- entry{Seq: seq, Event: e} }); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range workers {
		<-done
	}
}

// A kill while a record is being copied in leaves it without its magic (written
// last), while records placed after it may be whole: the reader skips the one and
// keeps the others, and it is no damage.
func TestRecordCutByKillSkipped(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	want := appendN(t, l, 5)
	// No Close: the segment keeps its whole allocated size, zeros after the records.
	path := filepath.Join(dir, name(1))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	starts := recordStarts(data)
	if len(starts) != 5 {
		t.Fatalf("%d records found, want 5", len(starts))
	}
	clear(data[starts[2] : starts[2]+4])
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, rec := open(t, dir)
	if rec.Damaged != 0 {
		t.Errorf("damaged = %d, want 0", rec.Damaged)
	}
	sameIDs(t, "recovered", rec.Events, append(want[:2:2], want[3:]...))
}

// recordStarts lists where whole records begin in a segment.
func recordStarts(data []byte) []int {
	var starts []int
	for pos := 0; pos+headerSize <= len(data); {
		p, ok := records.At(data[pos:])
		if !ok {
			pos += 8
			continue
		}
		starts = append(starts, pos)
		pos = records.Next(pos, headerSize+len(p))
	}
	return starts
}
