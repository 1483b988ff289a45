package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/eventcodec"
	"github.com/websystems/loendur/internal/eventtest"
)

// FuzzOpenSegment opens a spool whose only segment is arbitrary bytes and replays it.
// It must never panic, must give back exactly the records that an independent reading
// of the format verifies (checksums included), in order, each once, and must move
// everything else to quarantine byte for byte. The seed corpus is in
// testdata/fuzz/FuzzOpenSegment (regenerate with -spool.write-seeds); run with
// `go test -run '^$' -fuzz FuzzOpenSegment ./internal/spool` (TMPDIR on a tmpfs
// makes it much faster: every Open fsyncs).
func FuzzOpenSegment(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		payloads, stop, unknown := referenceParse(data)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		h, err := tryOpen(t, dir, 1<<40, 0)
		if unknown {
			if !errors.Is(err, errUnknownFormat) {
				t.Fatalf("Open of a segment with an unknown format = %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		q, qerr := os.ReadFile(filepath.Join(dir, quarantineDir, quarantineName(1, int64(stop))))
		switch {
		case stop < len(data) && (qerr != nil || !bytes.Equal(q, data[stop:])):
			t.Fatalf("damage from %d of %d: quarantined %d bytes, %v", stop, len(data), len(q), qerr)
		case stop == len(data) && qerr == nil:
			t.Fatalf("no damage, but quarantined %d bytes", len(q))
		}

		// What replay must give: each verified record that decodes, once per id.
		var want []Batch
		seen := map[uuid.UUID]bool{}
		for _, p := range payloads {
			id := uuid.UUID(p[2:18])
			if seen[id] {
				continue
			}
			seen[id] = true
			if b, err := decodePayload(p); err == nil {
				want = append(want, b)
			}
		}
		if n, _ := h.Stats(); n != len(seen) {
			t.Fatalf("Stats: %d batches, want %d", n, len(seen))
		}
		got := h.drain()
		if len(got) != len(want) {
			t.Fatalf("replayed %d batches, want %d", len(got), len(want))
		}
		for i := range want {
			sameBatch(t, got[i], want[i], "replay")
		}
		if segs := files(t, dir, segmentExt); len(segs) != 0 {
			t.Fatalf("drained spool kept %v", segs)
		}
	})
}

// referenceParse reads a segment the simple way, written apart from the spool's code
// from the format description: it returns the payloads of the leading records that
// verify, where the first bad one starts, and whether a verified record has a format
// the spool must refuse.
func referenceParse(data []byte) (payloads [][]byte, stop int, unknown bool) {
	crc := func(p []byte) uint32 { return crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)) }
	off := 0
	for len(data)-off >= 16 {
		h := data[off : off+16]
		n := int(binary.LittleEndian.Uint32(h[4:]))
		if string(h[:4]) != "\xd5LSR" || crc(h[:12]) != binary.LittleEndian.Uint32(h[12:]) ||
			n < 18 || n > 256<<20 || n > len(data)-off-16 {
			break
		}
		p := data[off+16 : off+16+n]
		if crc(p) != binary.LittleEndian.Uint32(h[8:]) {
			break
		}
		if p[0] != 1 || p[1] > 1 {
			return nil, off, true
		}
		payloads = append(payloads, p)
		off += 16 + n
	}
	return payloads, off, false
}

// FuzzDecodePayload decodes arbitrary payloads: no panic, and whatever decodes
// encodes and decodes back to the same batch.
func FuzzDecodePayload(f *testing.F) {
	f.Add([]byte{layoutV1, compressNone})
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := decodePayload(p)
		if err != nil {
			return
		}
		var enc encoder
		again, err := decodePayload(enc.appendPayload(nil, &b))
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		sameBatch(t, again, b, "round trip")
	})
}

var writeSeeds = flag.Bool("spool.write-seeds", false, "rewrite the committed fuzz seed corpus in testdata/fuzz")

// TestWriteSeeds regenerates the seed corpus when asked to with -spool.write-seeds.
func TestWriteSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -spool.write-seeds to rewrite testdata/fuzz")
	}
	seedBatch := func(n int, seed uint64) Batch {
		b := Batch{Events: eventtest.Realistic(n, seed)}
		b.ID[0], b.ID[15] = byte(seed), 0x5e
		return b
	}
	var enc encoder
	small, big := seedBatch(1, 1), seedBatch(12, 2)
	plain := append([]byte{layoutV1, compressNone}, small.ID[:]...)
	plain = eventcodec.AppendEvents(plain, small.Events)
	compressed := enc.appendPayload(nil, &big)
	if compressed[1] != compressS2 {
		t.Fatal("seed batch did not compress")
	}
	valid := append(rawRecord(plain), rawRecord(compressed)...)
	torn := valid[:len(valid)-37]
	flipped := bytes.Clone(valid)
	flipped[headerSize+30] ^= 0x08
	badBody := rawRecord(append(bytes.Clone(plain[:len(plain)-1]), 0xff, 0xff))
	segments := map[string][]byte{
		"two-records":    valid,
		"torn-tail":      torn,
		"flipped-byte":   flipped,
		"zero-tail":      append(bytes.Clone(valid), make([]byte, 40)...),
		"duplicate":      append(rawRecord(plain), valid...),
		"bad-body":       append(badBody, rawRecord(plain)...),
		"torn-header":    valid[:len(rawRecord(plain))+9],
		"unknown-layout": rawRecord(append([]byte{2, 0}, plain[2:]...)),
	}
	payloads := map[string][]byte{
		"plain":      plain,
		"compressed": compressed,
		"truncated":  compressed[:len(compressed)/2],
		"every-field": enc.appendPayload(nil, &Batch{ID: uuid.UUID{1},
			Events: append(eventtest.Realistic(1, 3), eventtest.Filled(t))}),
	}
	for target, seeds := range map[string]map[string][]byte{"FuzzOpenSegment": segments, "FuzzDecodePayload": payloads} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
