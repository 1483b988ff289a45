// Package spool keeps batches of events that could not be inserted into ClickHouse in
// a bounded, crash-safe, append-only folder on local disk, and gives them back in the
// order they came, until each is acknowledged as stored.
//
// # What it holds
//
// Exactly what ClickHouse would hold: store.Event values as the collector built them
// after enrichment, so an address is only ever the truncated one (store.Event.IP; the
// full address never leaves the request that computed the country and visitor hash).
// Nothing else about a visitor is written, and nothing of an event is ever logged or
// put in a metric. Erase removes a data subject's waiting events for an erasure
// request. The quarantine folder is the exception: damaged bytes are kept there as they
// were for a person to inspect, are not searched by Erase, and do not count against
// MaxBytes (loendur_spool_quarantined_bytes_total says how much went there); delete
// them once inspected.
//
// # On disk
//
// The folder holds numbered segment files (00000000000000000001.seg, …) that are only
// ever appended to (Erase replaces one whole, by rename), each with an ack file (….ack)
// beside it, a LOCK file, and a quarantine/ folder for damaged bytes. A segment is a
// sequence of records framed by internal/segment: a 16-byte header (magic "\xd5LSR",
// payload length, CRC-32C of the payload, CRC-32C of the header) and the payload: a
// layout version byte, a compression byte (0 none, 1 S2), the 16-byte batch id, then
// the events in internal/eventcodec's layout. Append writes the record with one write
// and fsyncs before returning; a new segment is begun when the current one would pass
// Options.SegmentBytes, and always after Open (a file that existed before a crash is
// never appended to again). Ack appends a 24-byte slot (magic "\xd5LSA", batch id,
// CRC-32C) to the segment's ack file and fsyncs; when every batch of a segment is
// acknowledged, the segment is deleted (durably) and then its ack file. Everything is
// bounded by Options.MaxBytes: segments, ack files, and the ack slot every waiting
// batch will need.
//
// # Damage
//
// Open reads every record of every segment and verifies both checksums. Because each
// Append finishes (fsync) before the next begins, a power cut can only tear the end of
// the newest segment; damage anywhere else is a disk fault. Either way the policy is the
// same: the records before the first bad one are kept, and everything from the first
// bad byte to the end of that segment is moved to quarantine/<segment>.<offset>.bad,
// counted (loendur_spool_corrupt_records_total, once per damaged segment) and logged in
// one line. The records after a bad one in the same segment are not searched for: a
// damaged length leaves no trustworthy boundary, and scanning for the next valid
// header could pick up a forged record carried inside an event's strings (page paths
// and properties come from the public). The quarantined bytes stay there for a person
// to inspect; later segments are not affected. A record that verified at Open but fails
// when Oldest reads it again is quarantined and acknowledged the same way, and replay
// goes on with the next one.
package spool

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/websystems/loendur/internal/segment"
	"github.com/websystems/loendur/internal/store"
)

// Batch is one insert's worth of events.
type Batch struct {
	ID     uuid.UUID // identity of the batch: the insert's deduplication token on replay
	Events []store.Event
}

// Options configures a spool.
type Options struct {
	Dir          string                // the spool folder, created if missing (mode 0700)
	MaxBytes     int64                 // bound on the spool's size on disk; Append past it returns ErrFull
	SegmentBytes int64                 // a new segment file is begun past this; 0 means MaxBytes/16, within 1 to 64 MiB
	Log          *slog.Logger          // nil discards
	Registry     prometheus.Registerer // nil registers no metrics
}

// Segment sizes when Options.SegmentBytes is 0. Space comes back only when a whole
// segment is acknowledged, so a segment is kept small beside MaxBytes: a full spool
// starts taking batches again after a sixteenth of it is replayed.
const (
	MinSegmentBytes     = 1 << 20
	DefaultSegmentBytes = 64 << 20
)

var (
	// ErrFull is returned by Append when the batch would take the spool past MaxBytes.
	ErrFull = errors.New("spool: full")
	// ErrNotSpooled is returned by Ack for an id that is not waiting in the spool.
	ErrNotSpooled = errors.New("spool: no such batch waiting")
	// ErrDuplicate is returned by Append for a batch whose id is already waiting.
	ErrDuplicate = errors.New("spool: batch already waiting")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("spool: closed")
)

// record is one batch's place in a segment.
type record struct {
	id    uuid.UUID
	off   int64
	size  int64 // header and payload
	acked bool
}

// segFile is one segment file and the index of its records.
type segFile struct {
	seq       uint64
	size      int64 // length of the file
	ackSize   int64 // length of the ack file
	recs      []record
	first     int      // every record before it is acknowledged
	pending   int      // records not acknowledged
	w         *os.File // open for appending while this is the newest segment; nil once sealed
	ack       *os.File // the ack file, opened at the first Ack
	ackSynced bool     // the ack file's directory entry is durable
}

type location struct {
	seg *segFile
	i   int
}

// Spool is a disk spool of batches. Its methods may be called from any goroutine; they
// are serialised by a mutex, except Stats, which never waits for disk.
type Spool struct {
	dir      string
	maxBytes int64
	segBytes int64
	log      *slog.Logger
	m        metrics
	lock     *os.File

	mu      sync.Mutex
	closed  bool
	segs    []*segFile // oldest first
	active  *segFile   // the segment Append writes to, or nil
	pending map[uuid.UUID]location
	repairs map[Repair]bool // see Repair
	nextSeq uint64
	enc     encoder
	rec     []byte // record being written
	rbuf    []byte // record being read

	batches atomic.Int64
	bytes   atomic.Int64
}

// Open opens the spool in opts.Dir, creating the folder if needed. It reads and
// verifies every segment, quarantines damage (see the package comment), deletes
// segments whose batches are all acknowledged, and fails when another process holds
// the folder or a record was written in a format this binary cannot read.
func Open(opts Options) (*Spool, error) {
	if opts.Dir == "" {
		return nil, errors.New("spool: no folder given")
	}
	if opts.MaxBytes <= 0 {
		return nil, fmt.Errorf("spool: MaxBytes must be positive, got %d", opts.MaxBytes)
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = min(max(opts.MaxBytes/16, MinSegmentBytes), DefaultSegmentBytes)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("spool: registering metrics: %w", err)
	}
	lock, err := lockDir(filepath.Join(opts.Dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{
		dir:      opts.Dir,
		maxBytes: opts.MaxBytes,
		segBytes: opts.SegmentBytes,
		log:      opts.Log,
		m:        m,
		lock:     lock,
		pending:  make(map[uuid.UUID]location),
		nextSeq:  1,
	}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.publish()
	return s, nil
}

// load reads the folder into s.
func (s *Spool) load() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var segSeqs []uint64
	acks := map[uint64]bool{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if filepath.Ext(e.Name()) == tmpExt { // a rewrite by Erase that did not finish
			os.Remove(filepath.Join(s.dir, e.Name()))
		} else if seq, ok := segment.ParseName(e.Name(), segmentExt); ok {
			segSeqs = append(segSeqs, seq)
			s.nextSeq = max(s.nextSeq, seq+1)
		} else if seq, ok := segment.ParseName(e.Name(), ackExt); ok {
			acks[seq] = true
			s.nextSeq = max(s.nextSeq, seq+1)
		}
	}
	// Quarantine files keep their segment's number: never reuse it, so that new damage
	// can never overwrite old evidence.
	qdir := filepath.Join(s.dir, quarantineDir)
	if qentries, err := os.ReadDir(qdir); err == nil {
		for _, e := range qentries {
			if filepath.Ext(e.Name()) == tmpExt {
				os.Remove(filepath.Join(qdir, e.Name()))
			} else if seq, ok := segment.ParseName(e.Name(), ""); ok {
				s.nextSeq = max(s.nextSeq, seq+1)
			}
		}
	}
	slices.Sort(segSeqs)
	for _, seq := range segSeqs {
		seg, err := s.loadSegment(seq, acks[seq])
		if err != nil {
			return err
		}
		delete(acks, seq)
		s.segs = append(s.segs, seg)
	}
	// An ack file without its segment: the segment was deleted and the process
	// stopped before the ack file was.
	for seq := range acks {
		if err := os.Remove(filepath.Join(s.dir, ackName(seq))); err != nil && !os.IsNotExist(err) {
			s.log.Error("spool: removing a leftover ack file", "file", ackName(seq), "err", err)
		}
	}
	s.sweep()
	s.loadRepairs()
	s.rbuf = nil // as large as the largest record read
	if err := segment.SyncDir(s.dir); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// loadSegment reads, verifies and if needed repairs one segment, and indexes its
// waiting batches.
func (s *Spool) loadSegment(seq uint64, hasAcks bool) (*segFile, error) {
	name := segmentName(seq)
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	size := fi.Size()
	seg := &segFile{seq: seq}
	var off int64
	var damage error
	for off < size {
		payload, n, err := records.ReadAt(f, off, size, s.rbuf)
		if err != nil {
			if errors.Is(err, errDamaged) {
				damage = err
				break
			}
			return nil, fmt.Errorf("spool: reading %s at byte %d: %w", name, off, err)
		}
		s.rbuf = payload
		_, _, id, err := payloadHeader(payload)
		if errors.Is(err, errUnknownFormat) {
			return nil, fmt.Errorf("spool: %s at byte %d: %w; a newer loendur wrote it: "+
				"run that version until the spool is empty, or move the folder away", name, off, err)
		}
		if err != nil { // unreachable: parseHeader requires room for the prefix
			damage = err
			break
		}
		seg.recs = append(seg.recs, record{id: id, off: off, size: n})
		off += n
	}
	seg.size = off
	if damage != nil {
		s.m.corrupt.Inc()
		s.m.quarantined.Add(float64(size - off))
		qpath, err := quarantine(s.dir, f, seq, off, size)
		if err == nil {
			err = f.Truncate(off)
		}
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			// The segment is sealed: nothing is appended after the damage, and the
			// next Open tries again. Count the bytes that stay.
			seg.size = size
			s.log.Error("spool: damaged segment: kept the records before the damage; could not quarantine the rest",
				"segment", name, "offset", off, "bytes", size-off, "kept_batches", len(seg.recs),
				"damage", damage.Error(), "err", err)
		} else {
			s.log.Warn("spool: damaged segment: kept the records before the damage, quarantined the rest",
				"segment", name, "offset", off, "bytes", size-off, "kept_batches", len(seg.recs),
				"damage", damage.Error(), "quarantine", qpath)
		}
	}

	acked := map[uuid.UUID]bool{}
	if hasAcks {
		if acked, seg.ackSize, err = s.loadAcks(seq); err != nil {
			return nil, err
		}
		seg.ackSynced = true // the directory is synced at the end of load
	}
	var dups []uuid.UUID
	for i := range seg.recs {
		r := &seg.recs[i]
		if acked[r.id] {
			r.acked = true
			continue
		}
		if prev, ok := s.pending[r.id]; ok {
			// The same batch twice: replay it once. In another segment, acknowledge
			// this copy for good; in this one, the ack of the first covers both.
			r.acked = true
			if prev.seg != seg {
				dups = append(dups, r.id)
			}
			continue
		}
		s.pending[r.id] = location{seg, i}
		seg.pending++
	}
	for _, id := range dups {
		if err := s.appendAck(seg, id); err != nil {
			return nil, err
		}
	}
	return seg, nil
}

// loadAcks reads the ack file of segment seq, cutting off a torn last slot.
func (s *Spool) loadAcks(seq uint64) (map[uuid.UUID]bool, int64, error) {
	name := ackName(seq)
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDWR, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("spool: %w", err)
	}
	whole := fi.Size() / ackSize * ackSize
	if whole != fi.Size() {
		if err := f.Truncate(whole); err != nil {
			return nil, 0, fmt.Errorf("spool: %w", err)
		}
		if err := f.Sync(); err != nil {
			return nil, 0, fmt.Errorf("spool: %w", err)
		}
	}
	acked := map[uuid.UUID]bool{}
	buf := make([]byte, 64*ackSize)
	for off := int64(0); off < whole; {
		n := min(int64(len(buf)), whole-off)
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return nil, 0, fmt.Errorf("spool: reading %s: %w", name, err)
		}
		for i := int64(0); i < n; i += ackSize {
			// A damaged slot acknowledges nothing: its batch is replayed, and the
			// insert's deduplication token makes that harmless.
			if id, ok := parseAckSlot(buf[i : i+ackSize]); ok {
				acked[id] = true
			}
		}
		off += n
	}
	return acked, whole, nil
}

// Append writes b to the spool and returns once it is on disk (fsync). It returns an
// error wrapping ErrFull, and writes nothing, when the spool would pass MaxBytes. After
// any other error the batch is not in the spool.
func (s *Spool) Append(b Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if b.ID == uuid.Nil {
		return errors.New("spool: batch has no id")
	}
	if _, ok := s.pending[b.ID]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicate, b.ID)
	}
	rec := s.enc.appendPayload(append(s.rec[:0], make([]byte, headerSize)...), &b) // header filled in below
	s.rec = rec
	if len(rec)-headerSize > maxPayload {
		return fmt.Errorf("spool: batch of %d events encodes to %d bytes, more than a record holds (%d)",
			len(b.Events), len(rec)-headerSize, maxPayload)
	}
	records.Seal(rec)
	need := int64(len(rec)) + ackSize
	if used := s.used(); used+need > s.maxBytes {
		s.m.full.Inc()
		return fmt.Errorf("%w: %d of %d bytes used, the batch of %d events needs %d",
			ErrFull, used, s.maxBytes, len(b.Events), need)
	}
	seg := s.active
	if seg != nil && seg.size > 0 && seg.size+int64(len(rec)) > s.segBytes {
		s.seal(seg)
		seg = nil
	}
	if seg == nil {
		var err error
		if seg, err = s.newSegment(); err != nil {
			return err
		}
	}
	_, err := seg.w.WriteAt(rec, seg.size)
	if err == nil {
		err = seg.w.Sync()
	}
	if err != nil {
		// Leave no partial record behind, and write no more to a file whose unsynced
		// pages the kernel may have dropped.
		if terr := seg.w.Truncate(seg.size); terr == nil {
			seg.w.Sync()
		}
		s.seal(seg)
		if len(seg.recs) == 0 {
			s.sweep()
		}
		return fmt.Errorf("spool: writing %s: %w", segmentName(seg.seq), err)
	}
	seg.recs = append(seg.recs, record{id: b.ID, off: seg.size, size: int64(len(rec))})
	seg.size += int64(len(rec))
	seg.pending++
	s.pending[b.ID] = location{seg, len(seg.recs) - 1}
	s.publish()
	return nil
}

// newSegment creates the next segment file, durably, and makes it the active one.
func (s *Spool) newSegment() (*segFile, error) {
	seq := s.nextSeq
	s.nextSeq++
	path := filepath.Join(s.dir, segmentName(seq))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := segment.SyncDir(s.dir); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("spool: %w", err)
	}
	seg := &segFile{seq: seq, w: f}
	s.segs = append(s.segs, seg)
	s.active = seg
	return seg, nil
}

// seal stops appending to seg.
func (s *Spool) seal(seg *segFile) {
	if seg.w != nil {
		seg.w.Close()
		seg.w = nil
	}
	if s.active == seg {
		s.active = nil
	}
}

// Oldest returns the oldest batch not yet acknowledged, read back from disk and
// verified, or false when the spool is empty. It decodes the batch on every call, so
// hold on to it while retrying its insert. A batch that no longer verifies is
// quarantined and skipped (see the package comment).
func (s *Spool) Oldest() (Batch, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Batch{}, false, ErrClosed
	}
	for {
		seg, i := s.oldest()
		if seg == nil {
			return Batch{}, false, nil
		}
		b, err := s.readBatch(seg, i)
		if err == nil {
			return b, true, nil
		}
		if !errors.Is(err, errDamaged) && !errors.Is(err, errMalformed) {
			return Batch{}, false, err
		}
		if err := s.discard(seg, i, err); err != nil {
			return Batch{}, false, err
		}
	}
}

// oldest finds the first waiting record.
func (s *Spool) oldest() (*segFile, int) {
	for _, seg := range s.segs {
		for seg.first < len(seg.recs) && seg.recs[seg.first].acked {
			seg.first++
		}
		if seg.first < len(seg.recs) {
			return seg, seg.first
		}
	}
	return nil, 0
}

// readBatch reads, verifies and decodes record i of seg.
func (s *Spool) readBatch(seg *segFile, i int) (Batch, error) {
	r := seg.recs[i]
	name := segmentName(seg.seq)
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		return Batch{}, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Batch{}, fmt.Errorf("spool: %w", err)
	}
	payload, n, err := records.ReadAt(f, r.off, min(fi.Size(), r.off+r.size), s.rbuf)
	if err != nil {
		return Batch{}, fmt.Errorf("spool: reading %s at byte %d: %w", name, r.off, err)
	}
	s.rbuf = payload
	if n != r.size {
		return Batch{}, fmt.Errorf("spool: %s at byte %d: %w: length changed", name, r.off, errDamaged)
	}
	b, err := decodePayload(payload)
	if err != nil {
		return Batch{}, fmt.Errorf("spool: %s at byte %d: %w", name, r.off, err)
	}
	if b.ID != r.id {
		return Batch{}, fmt.Errorf("spool: %s at byte %d: %w: batch id changed", name, r.off, errDamaged)
	}
	return b, nil
}

// discard quarantines record i of seg, which no longer verifies, and acknowledges it
// so that replay goes on.
func (s *Spool) discard(seg *segFile, i int, cause error) error {
	r := seg.recs[i]
	name := segmentName(seg.seq)
	s.m.corrupt.Inc()
	s.m.quarantined.Add(float64(r.size))
	var qpath string
	f, err := os.Open(filepath.Join(s.dir, name))
	if err == nil {
		qpath, err = quarantine(s.dir, f, seg.seq, r.off, r.off+r.size)
		f.Close()
	}
	if err != nil {
		s.log.Error("spool: damaged record; could not quarantine it", "segment", name, "offset", r.off, "bytes", r.size, "damage", cause.Error(), "err", err)
	} else {
		s.log.Warn("spool: damaged record: quarantined and skipped", "segment", name, "offset", r.off, "bytes", r.size, "damage", cause.Error(), "quarantine", qpath)
	}
	return s.ack(seg, i)
}

// Ack records durably that the batch id is stored, so that it is never replayed. When
// every batch of a segment is acknowledged, the segment is deleted. It returns an error
// wrapping ErrNotSpooled when id is not waiting in the spool; after any other error the
// batch is still waiting, and Ack may be called again.
func (s *Spool) Ack(id uuid.UUID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	l, ok := s.pending[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotSpooled, id)
	}
	return s.ack(l.seg, l.i)
}

func (s *Spool) ack(seg *segFile, i int) error {
	r := &seg.recs[i]
	if err := s.appendAck(seg, r.id); err != nil {
		return err
	}
	r.acked = true
	seg.pending--
	delete(s.pending, r.id)
	if seg.pending == 0 {
		s.sweep()
	}
	s.publish()
	return nil
}

// appendAck writes an ack slot for id to seg's ack file and syncs it. A failed write is
// overwritten by the next attempt, which goes to the same offset.
func (s *Spool) appendAck(seg *segFile, id uuid.UUID) error {
	name := ackName(seg.seq)
	if seg.ack == nil {
		f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		seg.ack = f
	}
	slot := ackSlot(id)
	_, err := seg.ack.WriteAt(slot[:], seg.ackSize)
	if err == nil {
		err = seg.ack.Sync()
	}
	if err == nil && !seg.ackSynced {
		if err = segment.SyncDir(s.dir); err == nil {
			seg.ackSynced = true
		}
	}
	if err != nil {
		return fmt.Errorf("spool: acknowledging batch %s in %s: %w", id, name, err)
	}
	seg.ackSize += ackSize
	return nil
}

// sweep deletes the segments whose batches are all acknowledged: the segment first,
// durably, then its ack file, so that a crash in between never brings back a segment
// without its acks. A segment that cannot be deleted stays, counted, for the next sweep.
func (s *Spool) sweep() {
	kept := s.segs[:0]
	for _, seg := range s.segs {
		if seg.pending > 0 || seg == s.active && len(seg.recs) == 0 && seg.w != nil {
			kept = append(kept, seg)
			continue
		}
		s.seal(seg)
		if seg.ack != nil {
			seg.ack.Close()
			seg.ack = nil
		}
		err := os.Remove(filepath.Join(s.dir, segmentName(seg.seq)))
		if err == nil || os.IsNotExist(err) {
			err = segment.SyncDir(s.dir)
		}
		if err != nil {
			s.log.Error("spool: deleting an acknowledged segment", "segment", segmentName(seg.seq), "err", err)
			kept = append(kept, seg)
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, ackName(seg.seq))); err != nil && !os.IsNotExist(err) {
			s.log.Error("spool: deleting an ack file", "file", ackName(seg.seq), "err", err) // removed at the next Open
		}
	}
	clear(s.segs[len(kept):])
	s.segs = kept
}

// Erase removes every waiting event for which match returns true, for an erasure
// request, and returns how many it removed. Each segment that holds such an event is
// rewritten to a temporary file that is then renamed over it, so a crash leaves either
// the old segment or the new one; while that happens the spool can pass MaxBytes by up
// to one segment. Batches keep their id and their order; a batch left without events
// is dropped. A batch that a caller already got from Oldest is not changed: call Oldest
// again after Erase. Quarantined bytes are damaged and are not searched.
func (s *Spool) Erase(match func(*store.Event) bool) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	erased := 0
	for _, seg := range slices.Clone(s.segs) {
		n, err := s.eraseSegment(seg, match)
		erased += n
		if err != nil {
			s.publish()
			return erased, err
		}
	}
	s.sweep()
	s.publish()
	return erased, nil
}

// eraseSegment rewrites seg without the matching events, if it has any.
func (s *Spool) eraseSegment(seg *segFile, match func(*store.Event) bool) (int, error) {
	name := segmentName(seg.seq)
	path := filepath.Join(s.dir, name)
	tmp, err := os.OpenFile(path+tmpExt, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(path + tmpExt)
		}
	}()
	erased := 0
	var recs []record
	var size int64
	for i := 0; i < len(seg.recs) && seg.pending > 0; i++ {
		if seg.recs[i].acked {
			continue
		}
		b, err := s.readBatch(seg, i)
		if errors.Is(err, errDamaged) || errors.Is(err, errMalformed) {
			if err := s.discard(seg, i, err); err != nil {
				return erased, err
			}
			continue
		}
		if err != nil {
			return erased, err
		}
		kept := slices.DeleteFunc(b.Events, func(e store.Event) bool { return match(&e) })
		erased += len(b.Events) - len(kept)
		if len(kept) == 0 {
			continue
		}
		b.Events = kept
		rec := s.enc.appendPayload(append(s.rec[:0], make([]byte, headerSize)...), &b)
		s.rec = rec
		records.Seal(rec)
		if _, err := tmp.Write(rec); err != nil {
			return 0, fmt.Errorf("spool: rewriting %s: %w", name, err)
		}
		recs = append(recs, record{id: b.ID, off: size, size: int64(len(rec))})
		size += int64(len(rec))
	}
	if erased == 0 || seg.pending == 0 {
		return 0, nil // nothing to erase, or nothing left: the segment stays or is swept
	}
	err = tmp.Sync()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("spool: rewriting %s: %w", name, err)
	}
	tmp = nil
	s.seal(seg) // the file is replaced: appends go to a new segment
	if err := os.Rename(path+tmpExt, path); err != nil {
		os.Remove(path + tmpExt)
		return 0, fmt.Errorf("spool: rewriting %s: %w", name, err)
	}
	if err := segment.SyncDir(s.dir); err != nil {
		return 0, fmt.Errorf("spool: rewriting %s: %w", name, err)
	}
	// The ack file stays: it names only batches that are no longer in the segment.
	for i := range seg.recs {
		if !seg.recs[i].acked {
			delete(s.pending, seg.recs[i].id)
		}
	}
	seg.recs, seg.first, seg.pending, seg.size = recs, 0, len(recs), size
	for i, r := range recs {
		s.pending[r.id] = location{seg, i}
	}
	return erased, nil
}

// used is what counts against MaxBytes: the files, and an ack slot for every batch
// that will need one.
func (s *Spool) used() int64 {
	n := int64(len(s.pending)) * ackSize
	for _, seg := range s.segs {
		n += seg.size + seg.ackSize
	}
	return n
}

func (s *Spool) publish() {
	n, b := int64(len(s.pending)), s.used()
	s.batches.Store(n)
	s.bytes.Store(b)
	s.m.batches.Set(float64(n))
	s.m.bytes.Set(float64(b))
}

// Stats returns the number of batches waiting and the bytes that count against
// MaxBytes (segment and ack files, plus the ack slot each waiting batch will need). It
// never waits for disk.
func (s *Spool) Stats() (batches int, bytes int64) {
	return int(s.batches.Load()), s.bytes.Load()
}

// Close closes the spool's files and releases the folder. Batches still waiting stay on
// disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.closeFiles()
}

func (s *Spool) closeFiles() error {
	var errs []error
	for _, seg := range s.segs {
		if seg.w != nil {
			errs = append(errs, seg.w.Close())
			seg.w = nil
		}
		if seg.ack != nil {
			errs = append(errs, seg.ack.Close())
			seg.ack = nil
		}
	}
	s.active = nil
	errs = append(errs, s.lock.Close())
	return errors.Join(errs...)
}

var _ io.Closer = (*Spool)(nil)
