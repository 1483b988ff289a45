package spool

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Days to repair outlive a restart, leave the list one at a time, and a list that
// cannot be read is moved aside with an error logged, without keeping the spool's
// batches from replaying.
func TestRepairsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	h := open(t, dir, 1<<30, 0)
	a := Repair{Site: "a.test", Day: "2026-12-04"}
	b := Repair{Site: "a.test", Day: "2026-12-05"}
	c := Repair{Site: "b.test", Day: "2026-12-05"}
	if err := h.AddRepairs([]Repair{c, a}); err != nil {
		t.Fatal(err)
	}
	if err := h.AddRepairs([]Repair{b, a}); err != nil { // a twice: kept once
		t.Fatal(err)
	}
	batch := testBatch(3, 1)
	h.append(batch)
	h.Close()

	h = open(t, dir, 1<<30, 0)
	if got, want := h.Repairs(), []Repair{a, b, c}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after a restart: %v, want %v", got, want)
	}
	if got := h.counter("loendur_spool_repairs"); got != 3 {
		t.Errorf("loendur_spool_repairs = %g, want 3", got)
	}
	if err := h.Repaired(b); err != nil {
		t.Fatal(err)
	}
	h.Close()

	h = open(t, dir, 1<<30, 0)
	if got, want := h.Repairs(), []Repair{a, c}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after one repaired and a restart: %v, want %v", got, want)
	}
	for _, r := range []Repair{a, c} {
		if err := h.Repaired(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, repairsName)); !os.IsNotExist(err) {
		t.Errorf("the repairs file is left after the last repair (stat: %v)", err)
	}
	h.Close()

	if err := os.WriteFile(filepath.Join(dir, repairsName), []byte(`[{"site":"a.te`), 0o600); err != nil {
		t.Fatal(err)
	}
	h = open(t, dir, 1<<30, 0)
	if got := h.Repairs(); len(got) != 0 {
		t.Errorf("repairs read from a torn file: %v", got)
	}
	if !strings.Contains(h.logs.String(), "unreadable") {
		t.Errorf("no error logged for the unreadable repairs file:\n%s", h.logs)
	}
	if _, err := os.Stat(filepath.Join(dir, repairsBadName)); err != nil {
		t.Errorf("the unreadable file was not moved aside: %v", err)
	}
	got := h.drain()
	if len(got) != 1 {
		t.Fatalf("replayed %d batches beside the unreadable repairs file, want 1", len(got))
	}
	sameBatch(t, got[0], batch, "beside the unreadable repairs file")
	h.Close()
}
