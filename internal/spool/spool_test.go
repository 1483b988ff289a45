package spool

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/eventcodec"
	"github.com/websystems/loendur/internal/eventtest"
	"github.com/websystems/loendur/internal/store"
)

func TestAppendOldestAckOrder(t *testing.T) {
	h := open(t, t.TempDir(), 1<<30, 0)
	if _, ok, err := h.Oldest(); ok || err != nil {
		t.Fatalf("empty spool: Oldest = %v, %v", ok, err)
	}
	h.wantStats(0, "empty")
	var want []Batch
	for i, n := range []int{1, 10, 0, 300, 7} {
		b := testBatch(n, uint64(i))
		h.append(b)
		want = append(want, b)
	}
	h.wantStats(5, "after appends")

	// Oldest is idempotent until the batch is acknowledged.
	for range 2 {
		b, ok, err := h.Oldest()
		if err != nil || !ok {
			t.Fatalf("Oldest = %v, %v", ok, err)
		}
		sameBatch(t, b, want[0], "first")
	}
	h.ack(want[0].ID)
	h.wantStats(4, "after one ack")

	// An acknowledgement out of order: the oldest is still the oldest.
	h.ack(want[3].ID)
	for _, i := range []int{1, 2, 4} {
		b, ok, err := h.Oldest()
		if err != nil || !ok {
			t.Fatalf("Oldest = %v, %v", ok, err)
		}
		sameBatch(t, b, want[i], "in order")
		h.ack(b.ID)
	}
	if _, ok, err := h.Oldest(); ok || err != nil {
		t.Fatalf("drained spool: Oldest = %v, %v", ok, err)
	}
	h.wantStats(0, "drained")
	if _, n := h.Stats(); n != 0 {
		t.Fatalf("drained spool counts %d bytes", n)
	}
	if segs, acks := files(t, h.dir, segmentExt), files(t, h.dir, ackExt); len(segs)+len(acks) != 0 {
		t.Fatalf("drained spool left %v %v", segs, acks)
	}
	if err := h.Ack(want[0].ID); !errors.Is(err, ErrNotSpooled) {
		t.Fatalf("second Ack = %v, want ErrNotSpooled", err)
	}
}

func TestAppendRefuses(t *testing.T) {
	h := open(t, t.TempDir(), 1<<30, 0)
	b := testBatch(3, 1)
	h.append(b)
	if err := h.Append(b); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Append of a waiting id = %v, want ErrDuplicate", err)
	}
	if err := h.Append(Batch{Events: b.Events}); err == nil {
		t.Fatal("Append of a batch without id succeeded")
	}
	if err := h.Ack(uuid.New()); !errors.Is(err, ErrNotSpooled) {
		t.Fatalf("Ack of an unknown id = %v, want ErrNotSpooled", err)
	}
	h.wantStats(1, "after refusals")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Append(testBatch(1, 2)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if _, _, err := h.Oldest(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Oldest after Close = %v", err)
	}
	if err := h.Ack(b.ID); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ack after Close = %v", err)
	}
}

func TestOpenOptions(t *testing.T) {
	if _, err := Open(Options{MaxBytes: 1}); err == nil {
		t.Fatal("Open without a folder succeeded")
	}
	if _, err := Open(Options{Dir: t.TempDir()}); err == nil {
		t.Fatal("Open without MaxBytes succeeded")
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := Open(Options{Dir: dir, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatalf("Open with defaults: %v", err)
	}
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("spool folder: %v, %v; want mode 0700", fi, err)
	}
	if s.segBytes != MinSegmentBytes {
		t.Fatalf("default segment size for 1 MiB = %d", s.segBytes)
	}
}

func TestLockedFolder(t *testing.T) {
	dir := t.TempDir()
	h := open(t, dir, 1<<20, 0)
	if _, err := tryOpen(t, dir, 1<<20, 0); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second Open of a folder in use = %v", err)
	}
	h.Close()
	open(t, dir, 1<<20, 0)
}

// TestRestart reopens the spool as after a crash: nothing is flushed at Close, so
// closing and reopening is what a SIGKILL and a restart see.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	h := open(t, dir, 1<<30, 2000) // small segments: several files
	var want []Batch
	for i := range 8 {
		b := testBatch(1+i, uint64(i))
		h.append(b)
		want = append(want, b)
	}
	if n := len(files(t, dir, segmentExt)); n < 3 {
		t.Fatalf("%d segments, want several", n)
	}
	for _, i := range []int{0, 2, 3, 7} {
		h.ack(want[i].ID)
	}
	h.Close()

	h = open(t, dir, 1<<30, 2000)
	h.wantStats(4, "reopened")
	got := h.drain()
	if len(got) != 4 {
		t.Fatalf("replayed %d batches, want 4", len(got))
	}
	for j, i := range []int{1, 4, 5, 6} {
		sameBatch(t, got[j], want[i], "replay")
	}
	// New batches after a restart go to a new segment, after the old ones.
	b := testBatch(2, 99)
	h.append(b)
	h.Close()

	h = open(t, dir, 1<<30, 2000)
	got = h.drain()
	if len(got) != 1 {
		t.Fatalf("second restart replayed %d batches, want 1", len(got))
	}
	sameBatch(t, got[0], b, "after second restart")
	h.Close()
	h = open(t, dir, 1<<30, 2000)
	h.wantStats(0, "all acknowledged")
	if segs := files(t, dir, segmentExt); len(segs) != 0 {
		t.Fatalf("acknowledged segments left: %v", segs)
	}
}

// TestCrashBeforeSegmentDeleted covers a crash between the last ack of a segment and
// its deletion, and between the deletion and the ack file's: nothing is replayed.
func TestCrashBeforeSegmentDeleted(t *testing.T) {
	dir := t.TempDir()
	h := open(t, dir, 1<<30, 0)
	a, b := testBatch(2, 1), testBatch(2, 2)
	h.append(a)
	h.append(b)
	h.ack(a.ID)
	seg := files(t, dir, segmentExt)[0]
	saved, err := os.ReadFile(filepath.Join(dir, seg))
	if err != nil {
		t.Fatal(err)
	}
	h.ack(b.ID) // deletes the segment and its ack file
	savedAck := ackSlot(a.ID)
	savedAck2 := ackSlot(b.ID)
	h.Close()

	// Segment and ack file both back: both acknowledged.
	os.WriteFile(filepath.Join(dir, seg), saved, 0o600)
	os.WriteFile(filepath.Join(dir, strings.TrimSuffix(seg, segmentExt)+ackExt), append(savedAck[:], savedAck2[:]...), 0o600)
	h = open(t, dir, 1<<30, 0)
	h.wantStats(0, "segment with all acks")
	if left := append(files(t, dir, segmentExt), files(t, dir, ackExt)...); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
	h.Close()

	// Only the ack file back: removed.
	os.WriteFile(filepath.Join(dir, "00000000000000000042"+ackExt), savedAck[:], 0o600)
	h = open(t, dir, 1<<30, 0)
	h.wantStats(0, "orphan ack file")
	if left := files(t, dir, ackExt); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
	// The next segment is numbered after it, never reusing a number.
	h.append(testBatch(1, 3))
	if segs := files(t, dir, segmentExt); len(segs) != 1 || segs[0] != segmentName(43) {
		t.Fatalf("new segment %v, want %s", segs, segmentName(43))
	}
}

func TestTornAckFile(t *testing.T) {
	dir := t.TempDir()
	h := open(t, dir, 1<<30, 0)
	var want []Batch
	for i := range 4 {
		b := testBatch(2, uint64(i))
		h.append(b)
		want = append(want, b)
	}
	h.ack(want[0].ID)
	h.ack(want[1].ID)
	h.Close()
	ack := filepath.Join(dir, ackName(1))
	for _, cut := range []int64{2*ackSize - 1, ackSize + 3} {
		if err := os.Truncate(ack, cut); err != nil {
			t.Fatal(err)
		}
		// A torn second slot: the second batch comes back (the deduplication token
		// makes its second insert harmless), the first does not.
		h = open(t, dir, 1<<30, 0)
		h.wantStats(3, "torn ack")
		b, _, _ := h.Oldest()
		sameBatch(t, b, want[1], "after torn ack")
		if fi, _ := os.Stat(ack); fi.Size() != ackSize {
			t.Fatalf("ack file %d bytes after repair, want %d", fi.Size(), ackSize)
		}
		h.Close()
	}
	// A damaged slot acknowledges nothing, and later slots still count.
	h = open(t, dir, 1<<30, 0)
	h.ack(want[1].ID)
	h.ack(want[2].ID)
	h.Close()
	data, _ := os.ReadFile(ack)
	data[ackSize+7] ^= 0x40
	os.WriteFile(ack, data, 0o600)
	h = open(t, dir, 1<<30, 0)
	got := h.drain()
	if len(got) != 2 || got[0].ID != want[1].ID || got[1].ID != want[3].ID {
		t.Fatalf("after a damaged ack slot replayed %d batches", len(got))
	}
}

func TestDuplicateAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	a, b := testBatch(2, 1), testBatch(2, 2)
	segmentFile(t, filepath.Join(dir, segmentName(1)), a, b)
	segmentFile(t, filepath.Join(dir, segmentName(2)), b, a, b)
	h := open(t, dir, 1<<30, 0)
	h.wantStats(2, "duplicates")
	got := h.drain()
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Fatalf("replayed %d batches", len(got))
	}
	h.Close()
	h = open(t, dir, 1<<30, 0)
	h.wantStats(0, "duplicates acknowledged")
}

func TestBound(t *testing.T) {
	dir := t.TempDir()
	const max = 64 << 10
	h := open(t, dir, max, 8<<10)
	var waiting []Batch
	check := func(what string) {
		t.Helper()
		_, used := h.Stats()
		if disk := diskBytes(t, dir); disk > used || used > max {
			t.Fatalf("%s: %d bytes on disk, %d counted, bound %d", what, disk, used, max)
		}
	}
	for i := 0; ; i++ {
		b := testBatch(5, uint64(i))
		err := h.Append(b)
		check("filling")
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, b)
	}
	if len(waiting) < 20 {
		t.Fatalf("only %d batches fit", len(waiting))
	}
	if got := h.counter("loendur_spool_full_total"); got != 1 {
		t.Fatalf("loendur_spool_full_total = %v", got)
	}
	// A batch larger than the whole spool never fits.
	if err := h.Append(testBatch(2000, 1)); !errors.Is(err, ErrFull) {
		t.Fatalf("huge batch: %v", err)
	}
	// Replaying frees space once a whole segment is acknowledged.
	appended := false
	for len(waiting) > 0 && !appended {
		b, ok, err := h.Oldest()
		if !ok || err != nil {
			t.Fatalf("Oldest = %v, %v", ok, err)
		}
		sameBatch(t, b, waiting[0], "replay of a full spool")
		h.ack(b.ID)
		waiting = waiting[1:]
		check("replaying")
		nb := testBatch(5, 1000+uint64(len(waiting)))
		switch err := h.Append(nb); {
		case err == nil:
			appended = true
			waiting = append(waiting, nb)
		case !errors.Is(err, ErrFull):
			t.Fatal(err)
		}
	}
	if !appended {
		t.Fatal("the spool never took a batch again")
	}
	// Acks never grow the spool without bound: append and ack many times.
	for i := range 200 {
		b := testBatch(1, uint64(5000+i))
		for {
			err := h.Append(b)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			o, _, _ := h.Oldest()
			h.ack(o.ID)
			waiting = waiting[1:]
		}
		waiting = append(waiting, b)
		check("cycling")
	}
	h.Close()
	h = open(t, dir, max, 8<<10)
	got := h.drain()
	if len(got) != len(waiting) {
		t.Fatalf("replayed %d, want %d", len(got), len(waiting))
	}
	for i := range got {
		sameBatch(t, got[i], waiting[i], "after cycling")
	}
}

func TestStatsWhileWriting(t *testing.T) {
	h := open(t, t.TempDir(), 1<<30, 0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if n, b := h.Stats(); n < 0 || b < 0 {
					t.Error("negative stats")
				}
			}
		}
	}()
	for i := range 20 {
		b := testBatch(10, uint64(i))
		h.append(b)
		if i%2 == 1 {
			o, _, _ := h.Oldest()
			h.ack(o.ID)
		}
	}
	close(stop)
	wg.Wait()
	h.wantStats(10, "end")
}

func TestMetricsOnReopen(t *testing.T) {
	dir := t.TempDir()
	h := open(t, dir, 1<<20, 0)
	h.append(testBatch(1, 1))
	h.Close()
	// The same registry again: the spool takes over the metrics.
	s, err := Open(Options{Dir: dir, MaxBytes: 1 << 20, Registry: h.reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h.Spool = s
	h.wantStats(1, "reopened on the same registry")
}

// TestCodecCoversEveryField: a batch with every field of an event set comes back the
// same through a payload (eventcodec.TestCoversEveryField checks the field list).
func TestCodecCoversEveryField(t *testing.T) {
	e := eventtest.Filled(t)
	var enc encoder
	b := Batch{ID: uuid.New(), Events: []store.Event{e, {}}}
	got, err := decodePayload(enc.appendPayload(nil, &b))
	if err != nil {
		t.Fatal(err)
	}
	sameBatch(t, got, b, "every field set")
}

func TestDecodeTruncated(t *testing.T) {
	var enc encoder
	b := testBatch(20, 3)
	for _, p := range [][]byte{enc.appendPayload(nil, &b), append([]byte{layoutV1, compressNone}, append(b.ID[:], eventcodec.AppendEvents(nil, b.Events)...)...)} {
		if _, err := decodePayload(p); err != nil {
			t.Fatal(err)
		}
		for n := range len(p) {
			if _, err := decodePayload(p[:n]); err == nil {
				t.Fatalf("payload cut to %d of %d bytes decoded", n, len(p))
			}
		}
		if _, err := decodePayload(append(p, 0)); err == nil {
			t.Fatal("payload with a trailing byte decoded")
		}
	}
}

func TestErase(t *testing.T) {
	dir := t.TempDir()
	h := open(t, dir, 1<<30, 3000)
	var want []Batch
	for i := range 6 {
		b := testBatch(4, uint64(i))
		want = append(want, b)
	}
	// One visitor in batches 1 and 4, and the only visitor of batch 2.
	const visitor = 0xfeedface
	want[1].Events[2].VisitorID = visitor
	want[4].Events[0].VisitorID = visitor
	for i := range want[2].Events {
		want[2].Events[i].VisitorID = visitor
	}
	for _, b := range want {
		h.append(b)
	}
	h.ack(want[0].ID)
	matches := func(e *store.Event) bool { return e.VisitorID == visitor }
	n, err := h.Erase(matches)
	if err != nil || n != 6 {
		t.Fatalf("Erase = %d, %v; want 6 events", n, err)
	}
	h.wantStats(4, "after erase") // batch 0 acknowledged, batch 2 emptied
	remaining := []Batch{want[1], want[3], want[4], want[5]}
	for i := range remaining {
		remaining[i].Events = slices.DeleteFunc(slices.Clone(remaining[i].Events), func(e store.Event) bool { return matches(&e) })
	}
	if n, err := h.Erase(matches); n != 0 || err != nil {
		t.Fatalf("second Erase = %d, %v", n, err)
	}
	// Not a byte of an erased event is left in a segment (random event ids are stored
	// as they are, even compressed); the others are there.
	var disk []byte
	for _, name := range files(t, dir, segmentExt) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		disk = append(disk, data...)
	}
	for _, b := range want[1:] {
		for _, e := range b.Events {
			if got := bytes.Contains(disk, e.EventID[:]); got == matches(&e) {
				t.Fatalf("event %s (erased: %v) on disk: %v", e.EventID, matches(&e), got)
			}
		}
	}
	// Appends after an erase go after everything else; acks still count.
	late := testBatch(2, 77)
	h.append(late)
	remaining = append(remaining, late)
	h.ack(remaining[0].ID)
	h.Close()
	os.WriteFile(filepath.Join(dir, segmentName(1)+tmpExt), []byte("an interrupted rewrite"), 0o600)

	h = open(t, dir, 1<<30, 3000)
	h.wantStats(4, "reopened after erase")
	got := h.drain()
	if len(got) != 4 {
		t.Fatalf("replayed %d batches, want 4", len(got))
	}
	for i := range got {
		sameBatch(t, got[i], remaining[i+1], "after erase")
		for _, e := range got[i].Events {
			if matches(&e) {
				t.Fatal("erased event replayed")
			}
		}
	}
	if tmps := files(t, dir, tmpExt); len(tmps) != 0 {
		t.Fatalf("left %v", tmps)
	}
	// Segments are rewritten in place, and no erased event is left on disk.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), segmentExt) {
			t.Fatalf("drained spool kept %s", e.Name())
		}
	}
}
