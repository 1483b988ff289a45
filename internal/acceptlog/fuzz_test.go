package acceptlog

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen reads arbitrary bytes as a segment left by an earlier process: no input may
// panic or fail the open, and every record found is whole.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	l, _, err := Open(dir, Options{})
	if err != nil {
		f.Fatal(err)
	}
	if err := l.Reset(); err != nil {
		f.Fatal(err)
	}
	q := make(chan entry, 4)
	for i := range 3 {
		e := ev(i)
		if err := l.Append(&e, func(seq uint64) { q <- entry{Seq: seq, Event: e} }); err != nil {
			f.Fatal(err)
		}
	}
	if err := l.Delivered(2); err != nil {
		f.Fatal(err)
	}
	if err := l.Close(); err != nil {
		f.Fatal(err)
	}
	seg, err := os.ReadFile(filepath.Join(dir, name(1)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seg)
	f.Add(seg[:len(seg)/2])
	f.Add(append(append([]byte{}, seg...), seg[3:40]...))
	work := f.TempDir() // one segment file, rewritten for each input
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(work, name(7)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Open(work, Options{}); err != nil {
			t.Fatalf("open: %v", err)
		}
		records.Scan(data, func(p []byte) {
			if len(p) == 0 || len(p) > len(data) {
				t.Fatalf("record payload of %d bytes in %d", len(p), len(data))
			}
		})
	})
}
