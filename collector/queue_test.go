package collector

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// The writer gets events in the order they were pushed, in whole batches while traffic
// flows, is woken once per full batch, and can take a partial batch when its interval
// or a flush asks for it.
func TestQueueBatchesInOrder(t *testing.T) {
	q := newQueue(10, 100)
	push := func(from, to uint64) {
		for seq := from; seq <= to; seq++ {
			q.Push(seq, &store.Event{Name: "e", EngagedMS: uint32(seq)})
		}
	}
	push(1, 9)
	select {
	case <-q.wake:
		t.Fatal("woken before a batch was full")
	default:
	}
	push(10, 25)
	select {
	case <-q.wake:
	default:
		t.Fatal("not woken when a batch was full")
	}
	if n := q.waiting(); n != 3 {
		t.Fatalf("%d chunks waiting after 25 events in batches of 10, want 3", n)
	}
	if n := q.full(); n != 2 {
		t.Fatalf("%d full chunks after 25 events in batches of 10, want 2", n)
	}
	check := func(c *chunk, from, to uint64) {
		t.Helper()
		if c == nil || uint64(len(c.events)) != to-from+1 {
			t.Fatalf("took %v, want events %d..%d", c, from, to)
		}
		for i, ev := range c.events {
			if want := from + uint64(i); c.seqs[i] != want || uint64(ev.EngagedMS) != want {
				t.Fatalf("event %d of the chunk: seq %d, payload %d, want %d", i, c.seqs[i], ev.EngagedMS, want)
			}
		}
	}
	first := q.take(false)
	check(first, 1, 10)
	check(q.take(false), 11, 20)
	if c := q.take(false); c != nil {
		t.Fatalf("took a partial chunk of %d events when only full ones were asked for", len(c.events))
	}
	check(q.take(true), 21, 25)
	if c := q.take(true); c != nil {
		t.Fatalf("took a chunk of %d events from an empty queue", len(c.events))
	}

	// A delivered chunk is reused, emptied.
	q.giveBack(first)
	push(26, 26)
	c := q.take(true)
	check(c, 26, 26)
	if c != first {
		t.Error("a new chunk was made although a delivered one was given back")
	}
}

func TestQueuePushAfterCloseRefused(t *testing.T) {
	q := newQueue(10, 100)
	q.close()
	select {
	case <-q.wake:
	default:
		t.Fatal("close did not wake the writer")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a push after close was accepted")
		}
	}()
	q.Push(1, &store.Event{})
}

// The writer inserts a full batch at once, in whole chunks of the queue; less than a
// batch waits for the flush interval (here a flush request), and several chunks go in
// one insert.
func TestWriterJoinsChunksUpToABatch(t *testing.T) {
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			site := fmt.Sprintf("writer-%s-%d.test", engine, rand.Uint32())
			reg := prometheus.NewRegistry()
			var held atomic.Int64
			w := &writer{db: db, queue: newQueue(10, 1000), held: &held, batchSize: 25, interval: time.Hour,
				log: slog.New(slog.DiscardHandler), m: newMetrics(reg, func() float64 { return 0 }),
				done: make(chan struct{}), spooled: make(chan struct{}, 1), flushes: make(chan chan struct{})}
			go w.run(nil)
			defer func() { w.queue.close(); <-w.done }()
			events := eventtest.Pageviews(site, time.Now().UTC().Truncate(time.Second).Add(-time.Minute), 40)
			push := func(from, to int) {
				for i := from; i < to; i++ {
					held.Add(1)
					w.queue.Push(uint64(i+1), &events[i])
				}
			}
			stored := func() uint64 {
				var rows []struct {
					N uint64 `ch:"n"`
				}
				if err := db.Select(context.Background(), &rows, "SELECT count() AS n FROM events WHERE site = ?", site); err != nil {
					t.Fatal(err)
				}
				return rows[0].N
			}
			inserts := func() (n uint64, rows float64) {
				mfs, err := reg.Gather()
				if err != nil {
					t.Fatal(err)
				}
				for _, mf := range mfs {
					if mf.GetName() == "loendur_batch_size" {
						h := mf.GetMetric()[0].GetHistogram()
						return h.GetSampleCount(), h.GetSampleSum()
					}
				}
				return 0, 0
			}

			push(0, 15) // one full chunk and half of one: less than a batch
			time.Sleep(300 * time.Millisecond)
			if n := stored(); n != 0 {
				t.Fatalf("%d events stored with less than a batch queued and the interval not over, want 0", n)
			}
			push(15, 30) // three full chunks: a batch of whole chunks goes at once
			deadline := time.Now().Add(10 * time.Second)
			for n, _ := inserts(); n == 0 && time.Now().Before(deadline); n, _ = inserts() {
				time.Sleep(20 * time.Millisecond)
			}
			if n, rows := inserts(); n != 1 || rows != 20 || stored() != 20 {
				t.Fatalf("once a batch was queued: %d inserts of %g events in all, %d stored; want 1 insert of 20 (two chunks of 10: 30 > 25)", n, rows, stored())
			}
			done := make(chan struct{})
			w.flushes <- done
			<-done
			if n, rows := inserts(); n != 2 || rows != 30 || stored() != 30 {
				t.Fatalf("after a flush: %d inserts of %g events in all, %d stored; want 2 inserts, 30 events", n, rows, stored())
			}
			if h := held.Load(); h != 0 {
				t.Errorf("%d events still counted as held", h)
			}
		})
	}
}
