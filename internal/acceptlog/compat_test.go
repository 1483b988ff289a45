package acceptlog

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/store"
)

// The files in testdata/v1 were written by the accept log as released before the
// segment framing and the event codec moved to their own packages (internal/segment,
// internal/eventcodec). What a process of that release accepted and left undelivered
// when it was killed must still be recovered after an upgrade, and this binary must go
// on writing the same bytes.

var writeFixtures = flag.Bool("acceptlog.write-fixtures", false, "rewrite testdata/v1 with this binary's accept log (only to add a fixture: the committed files must stay as the release wrote them)")

const fixtureDir = "testdata/v1"

// fixtureEvent is event i of the fixture, the same on every run.
func fixtureEvent(i int) store.Event {
	return store.Event{EventID: uuid.UUID{0xac, 15: byte(i)}, Timestamp: time.Unix(int64(1_700_000_000+i), int64(i)*1001).UTC(),
		Site: "example.com", Name: "pageview", Hostname: "example.com", Pathname: fmt.Sprintf("/p/%d", i),
		IP: "192.0.2.0", VisitorID: uint64(i) * 7919, SessionID: uint64(i) * 104729, Width: 1280, Scroll: uint8(i),
		PropKeys: []string{"k"}, PropValues: []string{fmt.Sprint(i)}}
}

var fixtureBatchIDs = [2]uuid.UUID{{0xba, 15: 1}, {0xba, 15: 2}}

// writeFixture runs the fixture's operations on a log in dir, the way the batch writer
// does, and returns the segment files as a kill would have left them (before Close:
// whole allocated segments, zeros after the last record). Events 1..4 are delivered,
// 5..7 are being delivered, 8..10 only accepted.
func writeFixture(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	l, _, err := Open(dir, Options{SegmentBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	q := make(chan entry, 10)
	for i := 1; i <= 10; i++ {
		e := fixtureEvent(i)
		if err := l.Append(&e, func(seq uint64) { q <- entry{Seq: seq, Event: e} }); err != nil {
			t.Fatal(err)
		}
	}
	for _, err := range []error{l.Delivering(1, 4, fixtureBatchIDs[0]), l.Delivered(4), l.Delivering(5, 7, fixtureBatchIDs[1])} {
		if err != nil {
			t.Fatal(err)
		}
	}
	files := readFiles(t, dir)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return files
}

func readFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
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
		t.Skip("run with -acceptlog.write-fixtures to rewrite testdata/v1")
	}
	files := writeFixture(t, t.TempDir())
	if err := os.RemoveAll(fixtureDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(fixtureDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func fixtureEvents(from, to int) []store.Event {
	var evs []store.Event
	for i := from; i <= to; i++ {
		evs = append(evs, fixtureEvent(i))
	}
	return evs
}

// TestReleasedLogRecovers opens a copy of a log left by a killed process of the
// released code: the batch being delivered and the events only accepted come back,
// every field intact.
func TestReleasedLogRecovers(t *testing.T) {
	files := readFiles(t, fixtureDir)
	if len(files) < 2 {
		t.Fatalf("fixture holds %d segments, want several", len(files))
	}
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, rec := open(t, dir)
	if rec.Damaged != 0 {
		t.Errorf("damaged = %d, want 0", rec.Damaged)
	}
	if rec.Pending == nil || rec.Pending.ID != fixtureBatchIDs[1] {
		t.Fatalf("pending = %+v, want batch %v", rec.Pending, fixtureBatchIDs[1])
	}
	sameEvents(t, "pending", rec.Pending.Events, fixtureEvents(5, 7))
	sameEvents(t, "undelivered", rec.Events, fixtureEvents(8, 10))
}

func sameEvents(t *testing.T, what string, got, want []store.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", want[i])
		if g != w {
			t.Fatalf("%s: event %d\n got %s\nwant %s", what, i, g, w)
		}
	}
}

// TestWritesReleasedFormat writes the fixture again and compares the segments byte for
// byte with those of the released code.
func TestWritesReleasedFormat(t *testing.T) {
	want := readFiles(t, fixtureDir)
	got := writeFixture(t, t.TempDir())
	if len(got) != len(want) {
		t.Fatalf("wrote %d segments, the released code %d", len(got), len(want))
	}
	for name := range want {
		if !bytes.Equal(got[name], want[name]) {
			t.Fatalf("%s differs from the released code's (%d bytes, want %d)", name, len(got[name]), len(want[name]))
		}
	}
}
