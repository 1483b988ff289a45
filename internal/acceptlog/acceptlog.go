// Package acceptlog is the collector's accept log: every event is copied into it
// before the beacon answers 202, so that a SIGKILL loses nothing the collector accepted.
// Segment files are mapped into memory (MAP_SHARED): a record copied into the mapping
// is in the kernel's page cache at once, which outlives the process, without a system
// call or a wait per event. The batch writer marks what it has delivered (stored in ClickHouse or
// fsynced to the spool), and at the next start what was accepted and not delivered is
// handed back for the spool.
//
// Written bytes survive a kill but not a power cut or a kernel crash until they are
// fsynced. The log fsyncs when the writer marks a batch as being delivered and, with
// Options.SyncInterval, at most that long after any write (see sync.go), and measures
// how much was exposed at each fsync (metrics.go).
//
// The log is a folder of numbered segment files (00000000000000000001.log, …), each a
// run of records framed by internal/segment with the magic "\xd5LAL":
//
//	magic (4) | payload length (4, LE) | CRC-32C of payload (4, LE) |
//	CRC-32C of the 12 bytes before (4, LE) | payload
//
// and a payload is a kind byte and then:
//
//	'E' event:      uvarint sequence number | one event in internal/eventcodec's layout 1
//	'S' delivering: uvarint first | uvarint last | batch id (16)
//	'D' delivered:  uvarint last
//
// Records start at multiples of 8 bytes, with zero bytes between them and after the
// last (segments are allocated whole and written in place). A record's magic is written
// last, so one that a kill interrupted reads as zeros and is skipped; a reader resumes
// at the next aligned record after any bytes that are not a whole record, and counts
// records that have a magic and fail their checksums as damage. (Logs of earlier
// versions, records back to back with no padding, read the same way.)
//
// Sequence numbers count events from 1 in queue order: a record's place in the file is
// taken under the same lock as its place in the queue (Append's push), and the queue
// carries each event's number to the batch writer, which names its batches by them.
package acceptlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/eventcodec"
	"github.com/websystems/loendur/internal/segment"
	"github.com/websystems/loendur/internal/store"
	"golang.org/x/sys/unix"
)

const (
	headerSize = segment.HeaderSize
	ext        = ".log"

	kindEvent      = 'E'
	kindDelivering = 'S'
	kindDelivered  = 'D'

	// DefaultSegmentBytes is the size of a segment file. Segments are small so that
	// delivered events leave the disk soon, and because the pages of a mapped segment
	// that were written count in the process's resident memory until it is removed:
	// at 20,000 events a second a segment lasts about a second.
	DefaultSegmentBytes = 4 << 20
)

// records is the framing of the log's records (see internal/segment).
var records = segment.Format{Magic: [4]byte{0xd5, 'L', 'A', 'L'}, MaxPayload: 64 << 20, Align: 8}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("acceptlog: closed")

// Options configure a Log; the zero value is usable.
type Options struct {
	// SegmentBytes is the size of a segment file (more for a record that does not fit);
	// 0: DefaultSegmentBytes.
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
// Append encodes its record, takes a place for it in the current segment and in the
// queue under one short lock, and copies the record into the mapped segment outside
// it. Nothing Append does waits for a disk: fsyncs run in the batch writer (Delivering)
// and in the syncer goroutine.
type Log struct {
	dir       string
	segBytes  int64
	syncEvery time.Duration
	log       *slog.Logger
	m         metrics

	mu        sync.Mutex // guards the places: sequence numbers and segments
	closed    bool
	nextSeq   uint64
	cur       *segFile   // where records go; nil until Reset, after Close, or when none could be made
	segs      []*segFile // every segment in use, cur last
	unsynced  []*segFile // segments replaced since the last fsync, to fsync before it counts
	delivered atomic.Uint64
	old       []uint64 // segment files found at Open, removed by Reset
	lastNum   uint64   // number of the newest segment file

	// What is written and not yet fsynced, guarded by wmu. writes counts records
	// copied; writtenSeq is the highest event sequence number copied. synced* are
	// their values when the last fsync began. dirtySince is when the oldest unsynced
	// record was copied (zero: none); nextSince, while an fsync runs, when the first
	// copy after its start was made.
	wmu                     sync.Mutex
	writes, syncedWrites    uint64
	writtenSeq, syncedSeq   uint64
	dirtySince, nextSince   time.Time
	syncing                 bool
	kick                    chan struct{} // wakes the syncer when the log gets dirty; nil: no syncer
	syncStop, syncerStopped chan struct{}

	// smu serialises fsyncs (syncLocked) and the removal of segments; taken before mu.
	smu         sync.Mutex
	peakEvents  uint64        // guarded by smu
	peakAge     time.Duration // guarded by smu
	syncFailing bool          // guarded by smu: the last fsync failed
	beforeFsync func()        // tests: called as an fsync begins, writes going on
	scratch     sync.Pool     // *[]byte: events being encoded
}

// segment is one segment file, allocated whole and mapped into memory.
type segFile struct {
	num    uint64
	f      *os.File
	data   []byte // the mapping; nil once unmapped
	off    int    // where the next record goes; guarded by Log.mu
	maxSeq uint64 // highest event sequence number placed in it; guarded by Log.mu
	// copying counts records placed and not yet copied in: a segment is fsynced,
	// unmapped or removed only at zero, which comes soon, as nothing new is placed in a
	// segment once it is replaced.
	copying  atomic.Int64
	prepared chan struct{} // closed once prepare is done; the mapping stays until then
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
	Damaged int           // segments with a damaged record (a torn write, a bad disk)
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
		damaged := records.Scan(data, func(p []byte) {
			body := p[1:]
			switch p[0] {
			case kindEvent:
				seq, k := binary.Uvarint(body)
				if k <= 0 {
					return
				}
				evs, err := eventcodec.DecodeEvents(body[k:])
				if err != nil {
					return
				}
				for _, ev := range evs {
					events = append(events, seqEvent{seq, ev})
					seq++
				}
			case kindDelivering:
				a, k1 := binary.Uvarint(body)
				if k1 <= 0 {
					return
				}
				b, k2 := binary.Uvarint(body[k1:])
				if k2 <= 0 || len(body[k1+k2:]) != 16 {
					return
				}
				pFirst, pLast, pID, havePending = a, b, uuid.UUID(body[k1+k2:]), true
			case kindDelivered:
				if b, k := binary.Uvarint(body); k > 0 {
					delivered = max(delivered, b)
				}
			}
		})
		if damaged {
			rec.Damaged++
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

// Reset removes the segments read by Open and begins a new one: sequence numbers
// start again at 1. Append works after it. Call it once.
func (l *Log) Reset() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := uint64(1)
	for _, n := range l.old {
		if err := os.Remove(filepath.Join(l.dir, name(n))); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("acceptlog: %w", err)
		}
		next = n + 1
	}
	l.old = nil
	l.lastNum = next - 1
	if err := l.rotate(0); err != nil {
		return err
	}
	l.unsynced = nil // a fresh log: only the new file's folder entry needs an fsync
	if err := syncDir(l.dir); err != nil {
		return err
	}
	if l.syncEvery > 0 {
		l.kick = make(chan struct{}, 1)
		l.syncStop, l.syncerStopped = make(chan struct{}), make(chan struct{})
		go l.syncer(l.kick, l.syncStop, l.syncerStopped)
	}
	l.closed = false
	return nil
}

// Append logs ev and then, under the same lock, calls push with its sequence number
// to queue it, so that the order of the log is the order of the queue; it returns once
// the record is in the page cache. push must not block. ErrClosed means push was not
// called; any other error means ev was queued but has no record.
//
// push is a function rather than an interface so that the caller's event stays on its
// stack: an interface method taking ev would make every event escape to the heap.
func (l *Log) Append(ev *store.Event, push func(seq uint64)) error {
	scratch := l.scratchBuf()
	body := eventcodec.AppendEvent((*scratch)[:0], ev)
	defer l.putScratch(scratch, body)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	seq := l.nextSeq
	l.nextSeq++
	n := headerSize + 1 + uvarintLen(seq) + len(body)
	seg, pos, err := l.place(n)
	if err == nil {
		seg.maxSeq = seq
	}
	push(seq)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	rec := seg.data[pos : pos+n]
	rec[headerSize] = kindEvent
	k := binary.PutUvarint(rec[headerSize+1:], seq)
	copy(rec[headerSize+1+k:], body)
	records.Seal(rec)
	l.copied(seg, seq)
	return nil
}

func (l *Log) scratchBuf() *[]byte {
	if b, ok := l.scratch.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 512)
	return &b
}

func (l *Log) putScratch(b *[]byte, used []byte) {
	if cap(used) <= 64<<10 {
		*b = used[:0]
		l.scratch.Put(b)
	}
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// place takes n bytes for a record in the current segment, beginning a new segment
// when it does not fit. The caller copies the record in and then calls copied. Called
// with mu held.
func (l *Log) place(n int) (*segFile, int, error) {
	seg := l.cur
	if seg == nil || seg.off+n > len(seg.data) {
		if err := l.rotate(n); err != nil {
			return nil, 0, err
		}
		seg = l.cur
	}
	pos := seg.off
	seg.off = records.Next(pos, n)
	seg.copying.Add(1)
	return seg, pos, nil
}

// copied ends a record's copy into seg: it counts for the fsyncs from now on.
func (l *Log) copied(seg *segFile, seq uint64) {
	seg.copying.Add(-1)
	l.wmu.Lock()
	l.wrote(seq)
	l.wmu.Unlock()
}

// rotate begins a new segment with room for a record of need bytes; the one it
// replaces waits for the next fsync. Called with mu held.
func (l *Log) rotate(need int) error {
	var mark []byte
	if d := l.delivered.Load(); d > 0 {
		mark = markerPayload(kindDelivered, 0, d, nil)
	}
	seg, err := l.newSegment(l.lastNum+1, max(int(l.segBytes), headerSize+len(mark)+need+16))
	if err != nil {
		l.cur = nil // the next record tries again
		return err
	}
	l.lastNum = seg.num
	if l.cur != nil {
		l.unsynced = append(l.unsynced, l.cur)
	}
	l.cur = seg
	l.segs = append(l.segs, seg)
	if mark == nil {
		return nil
	}
	// The new segment starts with the delivered mark, so that it outlives the old ones.
	rec := seg.data[:headerSize+len(mark)]
	copy(rec[headerSize:], mark)
	records.Seal(rec)
	seg.off = records.Next(0, len(rec))
	l.wmu.Lock()
	l.wrote(0)
	l.wmu.Unlock()
	return nil
}

// newSegment creates segment file num of size bytes and maps it. The file is allocated
// whole first, so that a full disk is an error here and not a fault when the mapping
// is written.
func (l *Log) newSegment(num uint64, size int) (*segFile, error) {
	path := filepath.Join(l.dir, name(num))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("acceptlog: %w", err)
	}
	err = syscall.Fallocate(int(f.Fd()), 0, 0, int64(size))
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		_, err = f.WriteAt(make([]byte, size), 0) // a filesystem without fallocate
	}
	var data []byte
	if err == nil {
		data, err = syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("acceptlog: new segment of %d bytes: %w", size, err)
	}
	seg := &segFile{num: num, f: f, data: data}
	seg.prepare()
	return seg, nil
}

// prepare maps every page of the segment in, writable, beside the handlers that write
// its first records: one call instead of a page fault at each page's first record. On
// this machine a fault costs 13–18 µs, 1,024 of them per 4 MB segment, and
// MADV_POPULATE_WRITE does the 1,024 in about 2.4 ms (BENCHMARKS.md). A kernel before
// 5.14 refuses it, and the pages fault in as they are written, as before.
func (seg *segFile) prepare() {
	seg.prepared = make(chan struct{})
	go func() {
		defer close(seg.prepared)
		_ = unix.Madvise(seg.data, unix.MADV_POPULATE_WRITE)
	}()
}

// syncWritten makes the segment's first end bytes durable. Only that range: an fsync of
// the whole file would also write back the prepared pages beyond it and write-protect
// them, and each would fault again at its first record. msync(MS_SYNC) of a file mapping
// is fdatasync of the range, which includes the metadata needed to read it back.
func (seg *segFile) syncWritten(end int) error {
	page := os.Getpagesize()
	end = min(len(seg.data), (end+page-1)/page*page)
	if end == 0 {
		return nil
	}
	return unix.Msync(seg.data[:end], unix.MS_SYNC)
}

// waitCopies returns once no record is being copied into seg. Nothing new is placed in
// a segment once it is replaced, so this is a matter of microseconds.
func (seg *segFile) waitCopies() {
	for seg.copying.Load() > 0 {
		runtime.Gosched()
	}
}

// close unmaps the segment and closes its file; keep cuts the file to what was
// written, remove deletes it.
func (seg *segFile) close(dir string, remove bool) error {
	seg.waitCopies()
	<-seg.prepared
	err := syscall.Munmap(seg.data)
	seg.data = nil
	if !remove {
		err = errors.Join(err, seg.f.Truncate(int64(seg.off)))
	}
	err = errors.Join(err, seg.f.Close())
	if remove {
		if rerr := os.Remove(filepath.Join(dir, name(seg.num))); rerr != nil && !os.IsNotExist(rerr) {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("acceptlog: close segment %d: %w", seg.num, err)
	}
	return nil
}

func markerPayload(kind byte, first, last uint64, id *uuid.UUID) []byte {
	p := []byte{kind}
	if kind == kindDelivering {
		p = binary.AppendUvarint(p, first)
	}
	p = binary.AppendUvarint(p, last)
	if id != nil {
		p = append(p, id[:]...)
	}
	return p
}

func (l *Log) marker(kind byte, first, last uint64, id *uuid.UUID) error {
	payload := markerPayload(kind, first, last, id)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	seg, pos, err := l.place(headerSize + len(payload))
	l.mu.Unlock()
	if err != nil {
		return err
	}
	rec := seg.data[pos : pos+headerSize+len(payload)]
	copy(rec[headerSize:], payload)
	records.Seal(rec)
	l.copied(seg, 0)
	return nil
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
	return l.syncLocked()
}

// Delivered marks every event up to last as stored or spooled, and removes the
// segments that hold only such events.
func (l *Log) Delivered(last uint64) error {
	// Before the mark: a segment begun from now on starts with it.
	if last > l.delivered.Load() {
		l.delivered.Store(last)
	}
	if err := l.marker(kindDelivered, 0, last, nil); err != nil {
		return err
	}
	l.smu.Lock()
	defer l.smu.Unlock()
	l.mu.Lock()
	var done []*segFile
	kept := l.segs[:0]
	for _, seg := range l.segs {
		if seg != l.cur && seg.maxSeq <= last {
			done = append(done, seg)
			continue
		}
		kept = append(kept, seg)
	}
	l.segs = kept
	l.unsynced = slices.DeleteFunc(l.unsynced, func(seg *segFile) bool { return slices.Contains(done, seg) })
	l.mu.Unlock()
	var err error
	for _, seg := range done {
		err = errors.Join(err, seg.close(l.dir, true))
	}
	return err
}

// Segments is the number of segment files in use, for tests.
func (l *Log) Segments() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.segs)
}

// Close stops taking records, fsyncs what was not yet fsynced when there is a
// SyncInterval, and closes the segments, cut to what was written. Nothing is removed:
// the next Open decides. Call it once the batch writer no longer calls Delivering or
// Delivered.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	var err error
	if l.syncStop != nil {
		close(l.syncStop)
		<-l.syncerStopped
		l.smu.Lock()
		err = l.syncLocked()
		l.smu.Unlock()
		if errors.Is(err, ErrClosed) {
			err = nil
		}
	}
	l.smu.Lock()
	defer l.smu.Unlock()
	l.mu.Lock()
	segs := l.segs
	l.segs, l.cur, l.unsynced = nil, nil, nil
	l.mu.Unlock()
	for _, seg := range segs {
		err = errors.Join(err, seg.close(l.dir, false))
	}
	return err
}

func name(n uint64) string { return segment.Name(n, ext) }

func parseName(s string) (uint64, bool) { return segment.ParseName(s, ext) }

func syncDir(dir string) error {
	if err := segment.SyncDir(dir); err != nil {
		return fmt.Errorf("acceptlog: %w", err)
	}
	return nil
}
