package literal

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// Values reach SQL only as escaped literals.
func TestLiteralText(t *testing.T) {
	for in, want := range map[string]string{
		`it's`:       `'it\'s'`,
		`back\slash`: `'back\\slash'`,
		"nul\x00":    `'nul\0'`,
		"new\nline":  `'new\nline'`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{
		`/50%_off*`:  `/50\%\_off%`,
		`/a\b*/c*`:   `/a\\b%/c%`,
		`/plain`:     `/plain`,
		`/ä*`:        `/ä%`,
		`*`:          `%`,
		`/quote'd`:   `/quote'd`,
		`/under_sc*`: `/under\_sc%`,
	} {
		if got := LikePattern(in); got != want {
			t.Errorf("LikePattern(%q) = %s, want %s", in, got, want)
		}
	}
	tallinn := time.FixedZone("EET", 2*3600)
	ts := time.Date(2026, 3, 4, 1, 6, 7, 0, tallinn)
	if got, want := DateTime(ts), `toDateTime('2026-03-03 23:06:07', 'UTC')`; got != want {
		t.Errorf("DateTime = %s, want %s", got, want)
	}
	if got, want := Date(ts), `toDate('2026-03-03')`; got != want {
		t.Errorf("Date = %s, want %s", got, want)
	}
	if got, want := UInt64List([]uint64{1, 1<<64 - 1}), `(1, 18446744073709551615)`; got != want {
		t.Errorf("UInt64List = %s, want %s", got, want)
	}
	if got, want := StringList([]string{"a'b", `c\`}), `('a\'b', 'c\\')`; got != want {
		t.Errorf("StringList = %s, want %s", got, want)
	}
	id := uuid.MustParse("8f14e45f-ceea-467a-9575-a4c9e2d5b7a1")
	if got, want := UUIDList([]uuid.UUID{id}), `(toUUID('8f14e45f-ceea-467a-9575-a4c9e2d5b7a1'))`; got != want {
		t.Errorf("UUIDList = %s, want %s", got, want)
	}
}

func TestAppendUUIDText(t *testing.T) {
	for range 100 {
		id := uuid.New()
		if got := string(AppendUUIDText([]byte("x"), id)); got != "x"+id.String() {
			t.Fatalf("AppendUUIDText(%v) = %q", id, got)
		}
		if got := UUID(id); got != "toUUID('"+id.String()+"')" {
			t.Fatalf("UUID(%v) = %q", id, got)
		}
	}
}
