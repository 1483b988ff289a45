package spool

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
)

// harness is an open spool with its registry and log.
type harness struct {
	*Spool
	t    testing.TB
	dir  string
	reg  *prometheus.Registry
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// lines returns the log lines.
func (b *syncBuffer) lines() []string {
	s := strings.TrimSpace(b.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func open(t testing.TB, dir string, maxBytes, segBytes int64) *harness {
	t.Helper()
	h, err := tryOpen(t, dir, maxBytes, segBytes)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return h
}

func tryOpen(t testing.TB, dir string, maxBytes, segBytes int64) (*harness, error) {
	h := &harness{t: t, dir: dir, reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	s, err := Open(Options{
		Dir: dir, MaxBytes: maxBytes, SegmentBytes: segBytes, Registry: h.reg,
		Log: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		return nil, err
	}
	h.Spool = s
	t.Cleanup(func() { s.Close() })
	return h, nil
}

func (h *harness) append(b Batch) {
	h.t.Helper()
	if err := h.Append(b); err != nil {
		h.t.Fatalf("Append(%s): %v", b.ID, err)
	}
}

func (h *harness) ack(id uuid.UUID) {
	h.t.Helper()
	if err := h.Ack(id); err != nil {
		h.t.Fatalf("Ack(%s): %v", id, err)
	}
}

// drain replays the spool to its end, acknowledging each batch, and returns them.
func (h *harness) drain() []Batch {
	h.t.Helper()
	var got []Batch
	for {
		b, ok, err := h.Oldest()
		if err != nil {
			h.t.Fatalf("Oldest: %v", err)
		}
		if !ok {
			return got
		}
		got = append(got, b)
		h.ack(b.ID)
	}
}

func (h *harness) counter(name string) float64 {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	h.t.Fatalf("no metric %s", name)
	return 0
}

func (h *harness) wantStats(batches int, what string) {
	h.t.Helper()
	n, size := h.Stats()
	if n != batches {
		h.t.Fatalf("%s: Stats batches = %d, want %d", what, n, batches)
	}
	if got := h.counter("loendur_spool_batches"); got != float64(batches) {
		h.t.Fatalf("%s: loendur_spool_batches = %v, want %d", what, got, batches)
	}
	if got := h.counter("loendur_spool_bytes"); got != float64(size) {
		h.t.Fatalf("%s: loendur_spool_bytes = %v, Stats bytes = %d", what, got, size)
	}
}

// diskBytes is the size of the spool's files, quarantine excluded.
func diskBytes(t testing.TB, dir string) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// files lists the names in dir with the given extension.
func files(t testing.TB, dir, ext string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

func sameBatch(t testing.TB, got, want Batch, what string) {
	t.Helper()
	if got.ID != want.ID {
		t.Fatalf("%s: batch %s, want %s", what, got.ID, want.ID)
	}
	if len(got.Events) != len(want.Events) {
		t.Fatalf("%s: %d events, want %d", what, len(got.Events), len(want.Events))
	}
	for i := range want.Events {
		g, w := got.Events[i], want.Events[i]
		if !g.Timestamp.Equal(w.Timestamp) {
			t.Fatalf("%s: event %d timestamp %v, want %v", what, i, g.Timestamp, w.Timestamp)
		}
		g.Timestamp = w.Timestamp
		if len(w.PropKeys) == 0 && len(g.PropKeys) == 0 {
			g.PropKeys, w.PropKeys = nil, nil
		}
		if len(w.PropValues) == 0 && len(g.PropValues) == 0 {
			g.PropValues, w.PropValues = nil, nil
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: event %d\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}

// segmentFile writes a segment file holding the given records.
func segmentFile(t testing.TB, path string, batches ...Batch) []int64 {
	t.Helper()
	data, offs := segmentBytes(batches...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return offs
}

// segmentBytes encodes batches as a segment and returns it with each record's offset
// (and the end, last).
func segmentBytes(batches ...Batch) ([]byte, []int64) {
	var enc encoder
	var data []byte
	var offs []int64
	for i := range batches {
		offs = append(offs, int64(len(data)))
		data = append(data, rawRecord(enc.appendPayload(nil, &batches[i]))...)
	}
	return data, append(offs, int64(len(data)))
}

// rawRecord frames a payload as a record.
func rawRecord(payload []byte) []byte {
	rec := append(make([]byte, headerSize), payload...)
	records.Seal(rec)
	return rec
}
