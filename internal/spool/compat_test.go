package spool

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/eventtest"
)

// The files in testdata/v1 were written by the spool as released before the segment
// framing and the event codec moved to their own packages (internal/segment,
// internal/eventcodec). A spool left on disk by that release must still replay after
// an upgrade, whole and unchanged, and this binary must go on writing the same bytes.

var writeFixtures = flag.Bool("spool.write-fixtures", false, "rewrite testdata/v1 with this binary's spool (only to add a fixture: the committed files must stay as the release wrote them)")

const fixtureDir = "testdata/v1"

// fixtureBatches are the batches of the fixture: one small, one that compresses, one
// with every kind of field, one more; the first is acknowledged.
func fixtureBatches() []Batch {
	id := func(b byte) uuid.UUID { return uuid.UUID{0xf1, 0x7e, 15: b} }
	every := eventtest.Realistic(2, 7)
	every[1].PropKeys, every[1].PropValues = []string{"plan", "", "✓"}, []string{"pro", "x", ""}
	every[1].UTMSource, every[1].UTMMedium, every[1].UTMCampaign, every[1].UTMTerm, every[1].UTMContent = "s", "m", "c", "t", "ct"
	return []Batch{
		{ID: id(1), Events: eventtest.Realistic(1, 1)},
		{ID: id(2), Events: eventtest.Realistic(12, 2)},
		{ID: id(3), Events: every},
		{ID: id(4), Events: eventtest.Realistic(3, 4)},
	}
}

// writeFixture runs the fixture's operations on a spool in dir.
func writeFixture(t *testing.T, dir string) {
	h := open(t, dir, 1<<20, 2500)
	bs := fixtureBatches()
	for _, b := range bs {
		h.append(b)
	}
	h.ack(bs[0].ID)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}

// fixtureFiles reads the spool files of dir, by name (the LOCK file left out).
func fixtureFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || e.Name() == lockName {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}

func TestWriteFixtures(t *testing.T) {
	if !*writeFixtures {
		t.Skip("run with -spool.write-fixtures to rewrite testdata/v1")
	}
	dir := t.TempDir()
	writeFixture(t, dir)
	if err := os.RemoveAll(fixtureDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range fixtureFiles(t, dir) {
		if err := os.WriteFile(filepath.Join(fixtureDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReleasedSpoolReplays opens a copy of a spool written by the released code and
// replays it: every batch not acknowledged comes back whole, in order.
func TestReleasedSpoolReplays(t *testing.T) {
	files := fixtureFiles(t, fixtureDir)
	if len(files) < 3 {
		t.Fatalf("fixture holds %d files, want segments and an ack file", len(files))
	}
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := open(t, dir, 1<<20, 0)
	want := fixtureBatches()[1:]
	h.wantStats(len(want), "released spool opened")
	got := h.drain()
	if len(got) != len(want) {
		t.Fatalf("replayed %d batches, want %d", len(got), len(want))
	}
	for i := range want {
		sameBatch(t, got[i], want[i], "released spool")
	}
	if n := h.counter("loendur_spool_corrupt_records_total"); n != 0 {
		t.Fatalf("released spool read as %v damaged records", n)
	}
}

// TestWritesReleasedFormat writes the fixture's batches again and compares the files
// byte for byte with those of the released code: a downgrade reads them too.
func TestWritesReleasedFormat(t *testing.T) {
	want := fixtureFiles(t, fixtureDir)
	dir := t.TempDir()
	writeFixture(t, dir)
	got := fixtureFiles(t, dir)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range want {
			if !yield(n) {
				return
			}
		}
	})
	if len(got) != len(want) {
		t.Fatalf("wrote %d files, the released code %d (%v)", len(got), len(want), names)
	}
	for _, n := range names {
		if !bytes.Equal(got[n], want[n]) {
			t.Fatalf("%s differs from the released code's (%d bytes, want %d)", n, len(got[n]), len(want[n]))
		}
	}
}
