package store

import (
	"context"
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

// testLiterals runs every literal helper on the engine: what it writes is what the
// engine reads back.
func testLiterals(t *testing.T, s Store) {
	ts := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	id := uuid.New()
	tricky := "it's a \\ 'test'? \n\t\x00"
	var rows []struct {
		T    time.Time `ch:"t"`
		D    string    `ch:"d"`
		S    string    `ch:"s"`
		Like uint8     `ch:"glob"`
		Lit  uint8     `ch:"lit"`
		InN  uint8     `ch:"in_n"`
		OutN uint8     `ch:"out_n"`
		InS  uint8     `ch:"in_s"`
		InU  uint8     `ch:"in_u"`
	}
	q := "SELECT " + DateTime(ts) + " AS t, toString(" + Date(ts) + ") AS d, " + Quote(tricky) + " AS s, " +
		`'/50%_off/a\\b/x' LIKE ` + Quote(LikePattern(`/50%_off/a\b*`)) + " AS glob, " +
		`'/50x-off/a\\b/x' LIKE ` + Quote(LikePattern(`/50%_off/a\b*`)) + " AS lit, " +
		"toUInt64(18446744073709551615) IN " + UInt64List([]uint64{3, 1<<64 - 1}) + " AS in_n, " +
		"toUInt64(4) IN " + UInt64List([]uint64{3, 1<<64 - 1}) + " AS out_n, " +
		"'a\\'b' IN " + StringList([]string{"x", "a'b"}) + " AS in_s, " +
		"toUUID('" + id.String() + "') IN " + UUIDList([]uuid.UUID{uuid.New(), id}) + " AS in_u"
	if err := s.Select(context.Background(), &rows, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if len(rows) != 1 {
		t.Fatalf("got %d rows", len(rows))
	}
	r := rows[0]
	if !r.T.Equal(ts) || r.D != "2026-03-04" || r.S != tricky {
		t.Errorf("DateTime, Date, Quote: got %v, %q, %q", r.T, r.D, r.S)
	}
	if r.Like != 1 || r.Lit != 0 {
		t.Errorf("LikePattern: match %d (want 1), literal %% and _ matched anything: %d (want 0)", r.Like, r.Lit)
	}
	if r.InN != 1 || r.OutN != 0 || r.InS != 1 || r.InU != 1 {
		t.Errorf("lists: %+v", r)
	}
}
