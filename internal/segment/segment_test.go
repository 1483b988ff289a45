package segment

import (
	"bytes"
	"errors"
	"testing"
)

var testFormat = Format{Magic: [4]byte{0xd5, 'T', 'S', 'T'}, MinPayload: 1, MaxPayload: 64, Align: 8}

func record(f Format, payload string) []byte {
	rec := append(make([]byte, HeaderSize), payload...)
	f.Seal(rec)
	return rec
}

// A sealed record reads back whole, by ReadAt and by At; any one flipped bit, and any
// cut, makes it damage.
func TestRecordVerifies(t *testing.T) {
	rec := record(testFormat, "hello, segment")
	p, n, err := testFormat.ReadAt(bytes.NewReader(rec), 0, int64(len(rec)), nil)
	if err != nil || string(p) != "hello, segment" || n != int64(len(rec)) {
		t.Fatalf("ReadAt = %q, %d, %v", p, n, err)
	}
	if p, ok := testFormat.At(rec); !ok || string(p) != "hello, segment" {
		t.Fatalf("At = %q, %v", p, ok)
	}
	for bit := range 8 * len(rec) {
		bad := bytes.Clone(rec)
		bad[bit/8] ^= 1 << (bit % 8)
		if _, _, err := testFormat.ReadAt(bytes.NewReader(bad), 0, int64(len(bad)), nil); !errors.Is(err, ErrDamaged) {
			t.Fatalf("bit %d flipped: ReadAt error %v, want damage", bit, err)
		}
		if _, ok := testFormat.At(bad); ok {
			t.Fatalf("bit %d flipped: At accepted the record", bit)
		}
	}
	for cut := range len(rec) {
		if _, _, err := testFormat.ReadAt(bytes.NewReader(rec[:cut]), 0, int64(cut), nil); !errors.Is(err, ErrDamaged) {
			t.Fatalf("cut to %d bytes: ReadAt error %v, want damage", cut, err)
		}
	}
}

// Sealing is on the collector's path for every event: it allocates nothing.
func TestSealAllocatesNothing(t *testing.T) {
	rec := record(testFormat, "hello, segment")
	if n := testing.AllocsPerRun(100, func() { testFormat.Seal(rec) }); n != 0 {
		t.Errorf("Seal allocates %v times", n)
	}
}

// Lengths outside the format's bounds are damage even with good checksums, and another
// log's record is not one of this log's.
func TestRecordBounds(t *testing.T) {
	for _, payload := range []string{"", string(make([]byte, 65))} {
		rec := record(testFormat, payload)
		if _, ok := testFormat.At(rec); ok {
			t.Errorf("payload of %d bytes accepted", len(payload))
		}
	}
	other := testFormat
	other.Magic = [4]byte{0xd5, 'O', 'T', 'H'}
	if _, ok := testFormat.At(record(other, "x")); ok {
		t.Error("another log's record accepted")
	}
}

// Scan finds records at aligned offsets past zeros, records without their magic and
// garbage, and reports damage only for a record with a magic that fails its checksums.
func TestScan(t *testing.T) {
	var seg []byte
	put := func(payload string) int {
		at := len(seg)
		seg = append(seg, record(testFormat, payload)...)
		seg = append(seg, make([]byte, testFormat.Next(at, len(seg)-at)-len(seg))...)
		return at
	}
	put("one")
	cut := put("two")
	put("three")
	seg = append(seg, make([]byte, 40)...)
	clear(seg[cut : cut+4]) // a kill while "two" was copied in
	scan := func(data []byte) (got []string, damaged bool) {
		damaged = testFormat.Scan(data, func(p []byte) { got = append(got, string(p)) })
		return got, damaged
	}
	if got, damaged := scan(seg); damaged || len(got) != 2 || got[0] != "one" || got[1] != "three" {
		t.Fatalf("Scan = %q, damaged %v; want [one three], no damage", got, damaged)
	}
	bad := bytes.Clone(seg)
	bad[HeaderSize+1] ^= 1 // the payload of "one"
	if got, damaged := scan(bad); !damaged || len(got) != 1 || got[0] != "three" {
		t.Fatalf("Scan of a damaged record = %q, damaged %v; want [three], damage", got, damaged)
	}
}

func TestNext(t *testing.T) {
	for _, c := range []struct {
		f            Format
		off, n, want int
	}{
		{Format{}, 5, 20, 25}, {Format{Align: 1}, 5, 20, 25},
		{Format{Align: 8}, 0, 16, 16}, {Format{Align: 8}, 0, 17, 24}, {Format{Align: 8}, 24, 23, 48},
	} {
		if got := c.f.Next(c.off, c.n); got != c.want {
			t.Errorf("Align %d: Next(%d, %d) = %d, want %d", c.f.Align, c.off, c.n, got, c.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := Name(42, ".seg"); got != "00000000000000000042.seg" {
		t.Fatalf("Name = %q", got)
	}
	for _, c := range []struct {
		name, ext string
		seq       uint64
		ok        bool
	}{
		{"00000000000000000042.seg", ".seg", 42, true},
		{"00000000000000000042.seg", ".ack", 0, false},
		{"00000000000000000042.seg.tmp", ".seg", 0, false},
		{"00000000000000000042.seg.7.bad", "", 42, true},
		{"0000000000000000042.seg", ".seg", 0, false},
		{"0000000000000000004x.seg", ".seg", 0, false},
		{"LOCK", "", 0, false},
	} {
		seq, ok := ParseName(c.name, c.ext)
		if seq != c.seq || ok != c.ok {
			t.Errorf("ParseName(%q, %q) = %d, %v; want %d, %v", c.name, c.ext, seq, ok, c.seq, c.ok)
		}
	}
}
