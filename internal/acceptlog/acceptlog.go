// Package acceptlog is the collector's accept log: every event is written to it, with
// a plain write(2), before the beacon answers 202, so that a SIGKILL loses nothing the
// collector accepted (written bytes live in the page cache, which outlives the
// process). The batch writer marks what it has delivered (stored in ClickHouse or
// fsynced to the spool), and at the next start what was accepted and not delivered is
// handed back for the spool.
//
// Written bytes survive a kill but not a power cut or a kernel crash until they are
// fsynced. The log fsyncs when the writer marks a batch as being delivered and, with
// Options.SyncInterval, at most that long after any write (see sync.go), and measures
// how much was exposed at each fsync (metrics.go).
//
// The log is a folder of numbered segment files (00000000000000000001.log, …), each a
// run of records:
//
//	magic "\xd5LAL" (4) | payload length (4, LE) | CRC-32C of payload (4, LE) |
//	CRC-32C of the 12 bytes before (4, LE) | payload
//
// and a payload is a kind byte and then:
//
//	'E' event:      uvarint sequence number | one event in the spool's layout 1
//	'S' delivering: uvarint first | uvarint last | batch id (16)
//	'D' delivered:  uvarint last
//
// Sequence numbers count events from 1 in queue order (the writer receives events in
// the order they were logged). Reading stops at the first damaged record of a segment:
// a torn tail is what a crash mid-write leaves.
package acceptlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/spool"
	"github.com/websystems/loendur/internal/store"
)

const (
	headerSize = 16
	maxPayload = 64 << 20
	ext        = ".log"

	kindEvent      = 'E'
	kindDelivering = 'S'
	kindDelivered  = 'D'

	// DefaultSegmentBytes is the size past which the writer begins a new segment, so
	// that delivered events leave the disk.
	DefaultSegmentBytes = 32 << 20
)

var (
	magic      = [4]byte{0xd5, 'L', 'A', 'L'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("acceptlog: closed")
)

func checksum(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

type segment struct {
	num    uint64
	maxSeq uint64 // highest event sequence number in it; 0: none
}

// Options configure a Log; the zero value is usable.
type Options struct {
	// SegmentBytes is the size past which a new segment begins; 0: DefaultSegmentBytes.
	SegmentBytes int64
	// SyncInterval bounds how long a write may stay without fsync: a syncer goroutine
	// fsyncs the log once the oldest unsynced write is that old. 0: the log is fsynced
	// only when a batch is marked as being delivered (Delivering).
	SyncInterval time.Duration
	// Registry takes the log's metrics; nil registers none.
	Registry prometheus.Registerer
	// Log receives the syncer's errors; nil discards them.
	Log *slog.Logger
}

// Log is an open accept log. Append may be called from any goroutine; Delivering and
// Delivered from one (the batch writer) only.
//
// Writes are grouped: Append encodes its record into a shared buffer and waits while a
// flusher goroutine writes the buffer with one write(2); records arriving during a
// write go out together with the next one. Nothing Append waits for fsyncs: fsyncs
// run in the batch writer (Delivering, Delivered) and in the syncer goroutine.
type Log struct {
	dir       string
	segBytes  int64
	syncEvery time.Duration
	log       *slog.Logger
	m         metrics

	mu      sync.Mutex // guards the buffer side
	closed  bool
	buf     []byte // records not yet written
	spare   []byte
	bufMax  uint64 // highest sequence number in buf
	nextSeq uint64
	cur     *flush // the flush that will write buf
	writing bool   // the flusher is writing
	wake    chan struct{}
	stopped chan struct{}

	wmu       sync.Mutex // guards the file side
	f         *os.File   // current segment; nil until Reset, and after Close
	size      int64      // of the current segment
	segs      []segment
	delivered uint64
	old       []uint64 // segment files found at Open, removed by Reset

	// What is written and not yet fsynced, guarded by wmu. writes counts write(2)
	// calls; writtenSeq is the highest event sequence number written. synced* are
	// their values when the last fsync began. dirtySince is when the oldest unsynced
	// write was made (zero: none); nextSince, while an fsync runs, when the first
	// write after its start was made.
	writes, syncedWrites    uint64
	writtenSeq, syncedSeq   uint64
	dirtySince, nextSince   time.Time
	syncing                 bool
	kick                    chan struct{} // wakes the syncer when the log gets dirty; nil: no syncer
	syncStop, syncerStopped chan struct{}

	// smu serialises fsyncs (syncLocked) and segment rotation; taken before wmu.
	smu         sync.Mutex
	peakEvents  uint64        // guarded by smu
	peakAge     time.Duration // guarded by smu
	syncFailing bool          // guarded by smu: the last fsync failed
	beforeFsync func()        // tests: called as an fsync begins, writes going on
}

// flush is one write of the buffer; done is closed once it is written, err its outcome.
type flush struct {
	done chan struct{}
	err  error
}

// Pending is the batch the writer had begun to deliver when the process stopped: it
// may or may not be stored.
type Pending struct {
	ID     uuid.UUID
	Events []store.Event
}

// Recovered is what the log held and was not delivered.
type Recovered struct {
	Pending *Pending      // nil: none
	Events  []store.Event // accepted and surely not delivered, in order
	Damaged int           // segments whose tail was torn or damaged
}

// Open reads the log in dir (created if missing) and returns what was not delivered.
// The old segments stay until Reset, which the caller calls once the recovered events
// are safe elsewhere; Append needs Reset first. The metrics are registered here.
func Open(dir string, opts Options) (*Log, *Recovered, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.SyncInterval < 0 {
		return nil, nil, fmt.Errorf("acceptlog: negative sync interval %v", opts.SyncInterval)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("acceptlog: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("acceptlog: %w", err)
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, nil, fmt.Errorf("acceptlog: metrics: %w", err)
	}
	l := &Log{dir: dir, segBytes: opts.SegmentBytes, syncEvery: opts.SyncInterval, log: opts.Log, m: m,
		nextSeq: 1, closed: true}
	for _, e := range entries {
		if n, ok := parseName(e.Name()); ok && !e.IsDir() {
			l.old = append(l.old, n)
		}
	}
	slices.Sort(l.old)
	type seqEvent struct {
		seq uint64
		ev  store.Event
	}
	var (
		events        []seqEvent
		delivered     uint64
		pFirst, pLast uint64
		pID           uuid.UUID
		havePending   bool
		rec           = &Recovered{}
	)
	for _, n := range l.old {
		data, err := os.ReadFile(filepath.Join(dir, name(n)))
		if err != nil {
			return nil, nil, fmt.Errorf("acceptlog: %w", err)
		}
		for len(data) > 0 {
			p, rest, ok := nextRecord(data)
			if !ok || len(p) == 0 {
				rec.Damaged++
				break
			}
			data = rest
			body := p[1:]
			switch p[0] {
			case kindEvent:
				seq, k := binary.Uvarint(body)
				if k <= 0 {
					continue
				}
				evs, err := spool.DecodeEvents(body[k:])
				if err != nil {
					continue
				}
				for _, ev := range evs {
					events = append(events, seqEvent{seq, ev})
					seq++
				}
			case kindDelivering:
				a, k1 := binary.Uvarint(body)
				if k1 <= 0 {
					continue
				}
				b, k2 := binary.Uvarint(body[k1:])
				if k2 <= 0 || len(body[k1+k2:]) != 16 {
					continue
				}
				pFirst, pLast, pID, havePending = a, b, uuid.UUID(body[k1+k2:]), true
			case kindDelivered:
				if b, k := binary.Uvarint(body); k > 0 {
					delivered = max(delivered, b)
				}
			}
		}
	}
	if havePending && pLast <= delivered {
		havePending = false
	}
	if havePending {
		rec.Pending = &Pending{ID: pID}
	}
	for _, se := range events {
		switch {
		case se.seq <= delivered:
		case havePending && se.seq >= pFirst && se.seq <= pLast:
			rec.Pending.Events = append(rec.Pending.Events, se.ev)
		default:
			rec.Events = append(rec.Events, se.ev)
		}
	}
	if rec.Pending != nil && len(rec.Pending.Events) == 0 {
		rec.Pending = nil
	}
	return l, rec, nil
}

// nextRecord verifies the record at the start of data and returns its payload and the
// bytes after it; ok is false for a torn or damaged record.
func nextRecord(data []byte) (payload, rest []byte, ok bool) {
	if len(data) < headerSize || [4]byte(data[:4]) != magic ||
		checksum(data[:12]) != binary.LittleEndian.Uint32(data[12:16]) {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(data[4:8])
	if n > maxPayload || int64(n) > int64(len(data)-headerSize) {
		return nil, nil, false
	}
	p := data[headerSize : headerSize+int(n)]
	if checksum(p) != binary.LittleEndian.Uint32(data[8:12]) {
		return nil, nil, false
	}
	return p, data[headerSize+int(n):], true
}

// Reset removes the segments read by Open and begins a new one: sequence numbers
// start again at 1. Append works after it. Call it once.
func (l *Log) Reset() error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	next := uint64(1)
	for _, n := range l.old {
		if err := os.Remove(filepath.Join(l.dir, name(n))); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("acceptlog: %w", err)
		}
		next = n + 1
	}
	l.old = nil
	if err := l.begin(next); err != nil {
		return err
	}
	if err := syncDir(l.dir); err != nil {
		return err
	}
	if l.syncEvery > 0 {
		// Set before closed turns false: Close reads them after seeing it under mu.
		l.kick = make(chan struct{}, 1)
		l.syncStop, l.syncerStopped = make(chan struct{}), make(chan struct{})
	}
	l.mu.Lock()
	l.closed = false
	l.cur = &flush{done: make(chan struct{})}
	l.wake = make(chan struct{}, 1)
	l.stopped = make(chan struct{})
	l.mu.Unlock()
	if l.syncEvery > 0 {
		go l.syncer(l.kick, l.syncStop, l.syncerStopped)
	}
	go l.flusher(l.wake, l.stopped)
	return nil
}

// flusher writes the buffer whenever woken, until wake is closed; then once more.
func (l *Log) flusher(wake <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	for range wake {
		l.drain()
	}
	l.drain()
}

// drain writes the buffer until it is empty. Only the flusher writes: records that
// arrive during a write go out together in the next one. (Letting the first handler
// write by itself measured slower under load: more, smaller writes.)
func (l *Log) drain() {
	l.mu.Lock()
	for !l.writing && len(l.buf) > 0 {
		l.writeRound()
	}
	l.mu.Unlock()
}

// writeRound writes what is buffered as one flush. Called with mu held and writing
// false; mu is released during the write and held again on return.
func (l *Log) writeRound() {
	l.writing = true
	buf, fl, maxSeq := l.buf, l.cur, l.bufMax
	l.buf, l.spare = l.spare[:0], nil
	l.cur = &flush{done: make(chan struct{})}
	l.mu.Unlock()

	l.wmu.Lock()
	fl.err = l.write(buf, maxSeq)
	if maxSeq > 0 {
		l.segs[len(l.segs)-1].maxSeq = max(l.segs[len(l.segs)-1].maxSeq, maxSeq)
	}
	l.wmu.Unlock()
	close(fl.done)

	l.mu.Lock()
	l.writing = false
	if cap(buf) <= 1<<20 {
		l.spare = buf[:0]
	}
}

// begin opens segment num as the current one. Called with wmu held.
func (l *Log) begin(num uint64) error {
	f, err := os.OpenFile(filepath.Join(l.dir, name(num)), os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("acceptlog: %w", err)
	}
	l.f, l.size = f, 0
	l.segs = append(l.segs, segment{num: num})
	return nil
}

// Append logs ev and then, under the same lock, sends it to q, so that the order of
// the log is the order of the queue; it returns once the record is written. q must not
// block. ErrClosed means nothing was sent; any other error means ev was sent but its
// record may not be written.
func (l *Log) Append(ev *store.Event, q chan<- store.Event) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	start := len(l.buf)
	buf := append(l.buf, make([]byte, headerSize)...)
	buf = append(buf, kindEvent)
	buf = binary.AppendUvarint(buf, l.nextSeq)
	buf = spool.AppendEvent(buf, ev)
	frame(buf[start:])
	l.buf = buf
	l.bufMax = l.nextSeq
	l.nextSeq++
	q <- *ev
	return l.wait()
}

// wait wakes the flusher and waits for the flush that writes what is in the buffer.
// Called with mu held; it unlocks it.
func (l *Log) wait() error {
	fl := l.cur
	l.wakeFlusher()
	l.mu.Unlock()
	<-fl.done
	return fl.err
}

// wakeFlusher is called with mu held: Close closes wake under mu too.
func (l *Log) wakeFlusher() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// frame fills the header of the record rec (payload after headerSize bytes).
func frame(rec []byte) {
	h := rec[:headerSize]
	copy(h, magic[:])
	binary.LittleEndian.PutUint32(h[4:], uint32(len(rec)-headerSize))
	binary.LittleEndian.PutUint32(h[8:], checksum(rec[headerSize:]))
	binary.LittleEndian.PutUint32(h[12:], checksum(h[:12]))
}

// write writes framed records, holding the events up to sequence number maxSeq (0:
// none), to the current segment. Called with wmu held.
func (l *Log) write(buf []byte, maxSeq uint64) error {
	if l.f == nil {
		return ErrClosed
	}
	n, err := l.f.Write(buf)
	l.size += int64(n)
	if n > 0 {
		if err != nil {
			maxSeq = 0 // not all written: the events of this write are not counted
		}
		l.wrote(maxSeq)
	}
	if err != nil {
		// A partial record is a torn record: readers stop there. Begin a new segment
		// so that later records stay readable.
		if n > 0 {
			l.f.Close()
			l.f = nil
			l.begin(l.segs[len(l.segs)-1].num + 1)
		}
		return fmt.Errorf("acceptlog: %w", err)
	}
	return nil
}

func appendMarker(buf []byte, kind byte, first, last uint64, id *uuid.UUID) []byte {
	start := len(buf)
	buf = append(buf, make([]byte, headerSize)...)
	buf = append(buf, kind)
	if kind == kindDelivering {
		buf = binary.AppendUvarint(buf, first)
	}
	buf = binary.AppendUvarint(buf, last)
	if id != nil {
		buf = append(buf, id[:]...)
	}
	frame(buf[start:])
	return buf
}

func (l *Log) marker(kind byte, first, last uint64, id *uuid.UUID) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.buf = appendMarker(l.buf, kind, first, last, id)
	return l.wait()
}

// Delivering marks the batch of events first..last, with this id, as about to be
// stored or spooled, and fsyncs the log (unless the syncer already did since the
// mark was written): everything accepted up to here then survives a power cut too.
func (l *Log) Delivering(first, last uint64, id uuid.UUID) error {
	if err := l.marker(kindDelivering, first, last, &id); err != nil {
		return err
	}
	l.smu.Lock()
	defer l.smu.Unlock()
	return l.syncLocked(nil)
}

// Delivered marks every event up to last as stored or spooled. Past the segment size
// it begins a new segment, fsyncing the old one (it may hold events accepted after
// the last fsync) and the new one; segments holding only delivered events are removed.
func (l *Log) Delivered(last uint64) error {
	if err := l.marker(kindDelivered, 0, last, nil); err != nil {
		return err
	}
	l.wmu.Lock()
	l.delivered = max(l.delivered, last)
	rotate := l.size >= l.segBytes && l.f != nil
	l.wmu.Unlock()
	if !rotate {
		return nil
	}
	// Only this goroutine rotates for size (the flusher only after a failed write,
	// which leaves a fresh segment: rotating it again is harmless).
	l.smu.Lock()
	defer l.smu.Unlock()
	l.wmu.Lock()
	old := l.f
	if old == nil {
		l.wmu.Unlock()
		return ErrClosed
	}
	if err := l.begin(l.segs[len(l.segs)-1].num + 1); err != nil {
		l.wmu.Unlock()
		return err
	}
	// The new segment starts with the delivered mark, so that it outlives the old ones.
	err := l.write(appendMarker(nil, kindDelivered, 0, l.delivered, nil), 0)
	l.wmu.Unlock()
	if err := errors.Join(err, l.syncLocked(old)); err != nil {
		return err
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	kept := l.segs[:0]
	for i, s := range l.segs {
		if i < len(l.segs)-1 && s.maxSeq <= l.delivered {
			if err := os.Remove(filepath.Join(l.dir, name(s.num))); err == nil || os.IsNotExist(err) {
				continue
			}
		}
		kept = append(kept, s)
	}
	l.segs = kept
	return nil
}

// Segments is the number of segment files in use, for tests.
func (l *Log) Segments() int {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return len(l.segs)
}

// Close writes what is buffered and closes the current segment; with a SyncInterval
// it fsyncs what was not yet fsynced first. Nothing is removed: the next Open decides.
// Call it once the batch writer no longer calls Delivering or Delivered.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.wake)
	l.mu.Unlock()
	<-l.stopped
	var err error
	if l.syncStop != nil {
		close(l.syncStop)
		<-l.syncerStopped
		l.smu.Lock()
		err = l.syncLocked(nil)
		l.smu.Unlock()
		if errors.Is(err, ErrClosed) {
			err = nil
		}
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.f == nil {
		return err
	}
	err = errors.Join(err, l.f.Close())
	l.f = nil
	return err
}

func name(n uint64) string { return fmt.Sprintf("%020d%s", n, ext) }

func parseName(s string) (uint64, bool) {
	base, ok := strings.CutSuffix(s, ext)
	if !ok || len(base) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	return n, err == nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("acceptlog: %w", err)
	}
	return nil
}
