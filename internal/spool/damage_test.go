package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// damaged writes data as segment 1 of a fresh spool folder and opens it.
func damaged(t *testing.T, data []byte) *harness {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return open(t, dir, 1<<30, 0)
}

// wantDamage checks that exactly the bytes data[off:] were quarantined and counted, in
// one log line that names the segment and holds no event content, and that the
// segment was cut at off.
func (h *harness) wantDamage(data []byte, off int64, batches []Batch, what string) {
	h.t.Helper()
	q, err := os.ReadFile(filepath.Join(h.dir, quarantineDir, quarantineName(1, off)))
	if err != nil {
		h.t.Fatalf("%s: quarantine file: %v", what, err)
	}
	if !bytes.Equal(q, data[off:]) {
		h.t.Fatalf("%s: quarantined %d bytes, want the %d from offset %d", what, len(q), len(data)-int(off), off)
	}
	if got := h.counter("loendur_spool_corrupt_records_total"); got != 1 {
		h.t.Fatalf("%s: loendur_spool_corrupt_records_total = %v, want 1", what, got)
	}
	if got := h.counter("loendur_spool_quarantined_bytes_total"); got != float64(len(data)-int(off)) {
		h.t.Fatalf("%s: loendur_spool_quarantined_bytes_total = %v, want %d", what, got, len(data)-int(off))
	}
	lines := h.logs.lines()
	if len(lines) != 1 || !strings.Contains(lines[0], segmentName(1)) || !strings.Contains(lines[0], fmt.Sprintf("offset=%d", off)) {
		h.t.Fatalf("%s: log %q, want one line naming the segment and offset", what, lines)
	}
	for _, b := range batches {
		for _, e := range b.Events {
			for _, s := range []string{e.Pathname, e.IP, e.EventID.String()} {
				if strings.Contains(lines[0], s) {
					h.t.Fatalf("%s: log line %q holds event content %q", what, lines[0], s)
				}
			}
		}
	}
	if off > 0 {
		fi, err := os.Stat(filepath.Join(h.dir, segmentName(1)))
		if err != nil || fi.Size() != off {
			h.t.Fatalf("%s: segment after repair: %v, %v; want %d bytes", what, fi, err, off)
		}
	}
}

// wantReplay drains the spool and checks it gave exactly want, in order.
func (h *harness) wantReplay(want []Batch, what string) {
	h.t.Helper()
	got := h.drain()
	if len(got) != len(want) {
		h.t.Fatalf("%s: replayed %d batches, want %d", what, len(got), len(want))
	}
	for i := range want {
		sameBatch(h.t, got[i], want[i], what)
	}
}

// TestTornTailEveryOffset cuts a segment at every byte of its last record, as a power
// cut in the middle of the write would: the records before are replayed, the torn
// bytes are quarantined and counted, and a second Open finds nothing more to do.
func TestTornTailEveryOffset(t *testing.T) {
	batches := []Batch{testBatch(3, 1), testBatch(1, 2), testBatch(2, 3)}
	data, offs := segmentBytes(batches...)
	last := offs[len(batches)-1]
	for cut := last; cut < int64(len(data)); cut++ {
		what := fmt.Sprintf("cut at %d (last record %d..%d)", cut, last, len(data))
		h := damaged(t, data[:cut])
		h.wantStats(2, what)
		if cut == last {
			if got := h.counter("loendur_spool_corrupt_records_total"); got != 0 {
				t.Fatalf("%s: clean cut counted as damage", what)
			}
		} else {
			h.wantDamage(data[:cut], last, batches, what)
		}
		h.Close()
		h = open(t, h.dir, 1<<30, 0)
		if got := h.counter("loendur_spool_corrupt_records_total"); got != 0 || len(h.logs.lines()) != 0 {
			t.Fatalf("%s: second Open found damage again: %v", what, h.logs.lines())
		}
		h.wantReplay(batches[:2], what)
		h.Close()
	}
}

// TestTornTailZeros is a tail that the file system extended with zeros (the size was
// written, the data was not).
func TestTornTailZeros(t *testing.T) {
	batches := []Batch{testBatch(3, 1), testBatch(2, 2)}
	data, offs := segmentBytes(batches...)
	data = append(data, make([]byte, 4096)...)
	h := damaged(t, data)
	h.wantDamage(data, offs[2], batches, "zero tail")
	h.wantReplay(batches, "zero tail")
}

// TestFlippedByte damages one byte anywhere in the middle record. Policy: the records
// before it are kept; it and everything after it in the segment are quarantined (a
// damaged record leaves no boundary that can be trusted); later segments are whole.
func TestFlippedByte(t *testing.T) {
	batches := []Batch{testBatch(2, 1), testBatch(2, 2), testBatch(2, 3)}
	data, offs := segmentBytes(batches...)
	next := testBatch(4, 4)
	nextSeg, _ := segmentBytes(next)
	for i := offs[1]; i < offs[2]; i++ {
		what := fmt.Sprintf("byte %d flipped (middle record %d..%d)", i, offs[1], offs[2])
		bad := bytes.Clone(data)
		bad[i] ^= 1 << (i % 8)
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, segmentName(1)), bad, 0o600)
		os.WriteFile(filepath.Join(dir, segmentName(2)), nextSeg, 0o600)
		h := open(t, dir, 1<<30, 0)
		h.wantStats(2, what)
		h.wantDamage(bad, offs[1], batches, what)
		h.wantReplay([]Batch{batches[0], next}, what)
		h.Close()
	}
}

// TestFirstRecordDamaged: nothing of the segment verifies, so all of it goes to
// quarantine and the segment file is removed.
func TestFirstRecordDamaged(t *testing.T) {
	batches := []Batch{testBatch(2, 1), testBatch(2, 2)}
	data, _ := segmentBytes(batches...)
	data[headerSize+3] ^= 0xff
	h := damaged(t, data)
	h.wantDamage(data, 0, batches, "first record")
	h.wantStats(0, "first record")
	if segs := files(t, h.dir, segmentExt); len(segs) != 0 {
		t.Fatalf("segments left: %v", segs)
	}
}

func TestEmptySegmentRemoved(t *testing.T) {
	h := damaged(t, nil)
	h.wantStats(0, "empty segment")
	if segs := files(t, h.dir, segmentExt); len(segs) != 0 || len(h.logs.lines()) != 0 {
		t.Fatalf("segments left: %v, log %v", segs, h.logs.lines())
	}
}

// TestDamagedAfterOpen damages a record on disk while the spool is open: Oldest
// quarantines it, counts it and goes on with the next.
func TestDamagedAfterOpen(t *testing.T) {
	dir := t.TempDir()
	h := open(t, dir, 1<<30, 0)
	batches := []Batch{testBatch(2, 1), testBatch(2, 2), testBatch(2, 3)}
	for _, b := range batches {
		h.append(b)
	}
	path := filepath.Join(dir, segmentName(1))
	data, _ := os.ReadFile(path)
	_, offs := segmentBytes(batches...)
	data[offs[1]+headerSize+20] ^= 0x10
	os.WriteFile(path, data, 0o600)

	h.wantReplay([]Batch{batches[0], batches[2]}, "damaged while open")
	if got := h.counter("loendur_spool_corrupt_records_total"); got != 1 {
		t.Fatalf("loendur_spool_corrupt_records_total = %v", got)
	}
	q, err := os.ReadFile(filepath.Join(dir, quarantineDir, quarantineName(1, offs[1])))
	if err != nil || !bytes.Equal(q, data[offs[1]:offs[2]]) {
		t.Fatalf("quarantined %d bytes, %v", len(q), err)
	}
}

// TestUnknownVersion: a record that verifies but was written by a newer binary makes
// Open fail, and nothing is touched.
func TestUnknownVersion(t *testing.T) {
	var enc encoder
	b := testBatch(2, 1)
	p := enc.appendPayload(nil, &b)
	p[0] = 9
	data := append(rawRecord(enc.appendPayload(nil, &Batch{ID: b.ID, Events: b.Events[:1]})), rawRecord(p)...)
	dir := t.TempDir()
	path := filepath.Join(dir, segmentName(1))
	os.WriteFile(path, data, 0o600)
	_, err := tryOpen(t, dir, 1<<30, 0)
	if !errors.Is(err, errUnknownFormat) || !strings.Contains(err.Error(), "layout version 9") {
		t.Fatalf("Open = %v, want an unknown format error", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
		t.Fatal("segment changed")
	}
	if _, err := os.Stat(filepath.Join(dir, quarantineDir)); err == nil {
		t.Fatal("quarantine used")
	}
}
