package collector

import (
	"testing"

	"github.com/websystems/loendur/internal/store"
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
