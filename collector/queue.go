package collector

import (
	"sync"

	"github.com/websystems/loendur/internal/store"
)

// queue holds the accepted events the batch writer has not taken yet, in the order
// they were accepted, which is the accept log's order (acceptlog.Log.Append pushes
// under its lock). Events wait in chunks of one batch each: the writer takes whole
// chunks, so that every insert is a full batch unless the flush interval or a flush
// request comes first.
//
// It is not a channel, for two reasons measured in BENCHMARKS.md: a channel send woke
// the parked writer for nearly every event (a goroutine switch, often a thread
// wake-up, per event), and a channel of QueueSize events was allocated whole at start,
// became resident as its ring turned (45 MB at the default size) and was scanned by
// every GC. Here a push appends to the filling chunk, the writer is woken when a chunk
// is full, and a couple of delivered chunks are kept for reuse.
//
// What bounds the queue is Collector.held, counted before the push, not the chunks.
type queue struct {
	mu     sync.Mutex
	chunks []*chunk // oldest first; the last one is filling
	free   []*chunk // delivered chunks for reuse
	closed bool
	batch  int           // events per chunk
	room   int           // events a new chunk has room for: the batch, or the queue's bound if smaller
	wake   chan struct{} // buffered (1): a chunk is full, or the queue was closed
}

// chunk is up to one batch of events with their accept log sequence numbers (0
// without a log).
type chunk struct {
	events []store.Event
	seqs   []uint64
}

// keptChunks is how many delivered chunks wait for reuse: in steady traffic one is
// being delivered and one fills meanwhile, and neither needs new memory. A third (an
// insert slower than a batch takes to fill) and those of an outage are new and left to
// the GC: each kept chunk is a batch of events held in memory for good.
const keptChunks = 2

// newQueue makes a queue of chunks of batch events; bound is the most events it will
// ever hold (Options.QueueSize, which held enforces).
func newQueue(batch, bound int) *queue {
	batch = max(batch, 1)
	return &queue{batch: batch, room: max(min(batch, bound), 1), wake: make(chan struct{}, 1)}
}

// Push queues a copy of ev with its accept log sequence number. It never waits for
// longer than an append. Pushing after close panics, as a send on a closed channel
// did: Shutdown is called only once the app takes no more requests.
func (q *queue) Push(seq uint64, ev *store.Event) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		panic("collector: event queued after Shutdown")
	}
	n := len(q.chunks)
	if n == 0 || len(q.chunks[n-1].events) == q.batch {
		q.chunks = append(q.chunks, q.newChunk())
		n++
	}
	c := q.chunks[n-1]
	c.events = append(c.events, *ev)
	c.seqs = append(c.seqs, seq)
	full := len(c.events) == q.batch
	q.mu.Unlock()
	if full {
		q.signal()
	}
}

// newChunk is a delivered chunk or a new one. Called with mu held.
func (q *queue) newChunk() *chunk {
	if n := len(q.free); n > 0 {
		c := q.free[n-1]
		q.free = q.free[:n-1]
		return c
	}
	// Whole at once: growing by append would copy and allocate several times the chunk.
	return &chunk{events: make([]store.Event, 0, q.room), seqs: make([]uint64, 0, q.room)}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// full is how many full chunks are waiting.
func (q *queue) full() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.chunks)
	if n > 0 && len(q.chunks[n-1].events) < q.batch {
		n--
	}
	return n
}

// waiting is how many chunks are waiting, the filling one included.
func (q *queue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.chunks)
}

// take removes and returns the oldest chunk: only if it is full unless partial, and
// nil when there is none to take.
func (q *queue) take(partial bool) *chunk {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.chunks) == 0 || !partial && len(q.chunks[0].events) < q.batch {
		return nil
	}
	c := q.chunks[0]
	n := copy(q.chunks, q.chunks[1:])
	q.chunks[n] = nil
	q.chunks = q.chunks[:n]
	return c
}

// giveBack returns a delivered chunk for reuse.
func (q *queue) giveBack(c *chunk) {
	clear(c.events) // let go of the strings it points to
	c.events, c.seqs = c.events[:0], c.seqs[:0]
	q.mu.Lock()
	if len(q.free) < keptChunks {
		q.free = append(q.free, c)
	}
	q.mu.Unlock()
}

// isClosed reports whether close was called.
func (q *queue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// close marks the end of the queue and wakes the writer, which takes what is left.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}
