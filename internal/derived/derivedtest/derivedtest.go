// Package derivedtest checks derived tables in tests of the paths that change events
// (erasure, retention, replay): every derived table holds the site's rows before, and
// agrees with its definition after. A derived table that a path forgets then fails
// that path's test.
package derivedtest

import (
	"context"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/derived"
)

// sitesOf lists one site, for the finalizer.
type sitesOf []string

func (s sitesOf) Domains() []string { return s }

// Finalize writes the site's visits that ended before now, as serve's finalizer does.
func Finalize(t testing.TB, db derived.DB, site string, now time.Time) {
	t.Helper()
	f, err := derived.NewFinalizer(derived.FinalizerOptions{DB: db, Sites: sitesOf{site}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Finalize(context.Background(), site); err != nil {
		t.Fatal(err)
	}
}

// RequireRows fails the test unless every derived table holding event data (all but
// the progress table) has rows of site: a check after a path is only worth something
// when the path had something to change.
func RequireRows(t testing.TB, db derived.DB, site string) {
	t.Helper()
	for _, name := range derived.Names() {
		if name == derived.Visits.Progress {
			continue
		}
		var rows []struct {
			N uint64 `ch:"n"`
		}
		if err := db.Select(context.Background(), &rows, "SELECT count() AS n FROM "+name+" WHERE site = ?", site); err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 || rows[0].N == 0 {
			t.Fatalf("derived table %s holds no rows of %s: the fixture must give every derived table something to change", name, site)
		}
	}
}

// NoDrift fails the test when a derived table of site differs from what its definition
// computes from the events there are now (derived.Drift).
func NoDrift(t testing.TB, db derived.DB, site, when string) {
	t.Helper()
	drift, err := derived.Drift(context.Background(), db, site)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range drift {
		t.Errorf("%s: %s", when, d)
	}
}

// WriteVisits writes the site's visits that ended before done in one go, as the
// finalizer would over time (it walks a fixture spread over years a span at a time).
func WriteVisits(t testing.TB, db derived.DB, site string, done time.Time) {
	t.Helper()
	ctx := context.Background()
	epoch := time.Unix(1, 0)
	span := derived.VisitSpan{Site: site, From: epoch, To: done.Add(derived.MaxVisitLength), EndFrom: epoch, EndTo: done}
	if err := derived.Visits.Insert(ctx, db, span); err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(ctx, derived.Visits.Progress, []string{"site", "done_until", "version"},
		[][]any{{site, done.UTC(), uint64(time.Now().UnixNano())}}); err != nil {
		t.Fatal(err)
	}
}

// SampledVisitors are the first n visitor ids from first on that the visit sample
// holds (derived.VisitSample): a fixture's visitors that its table gets too.
func SampledVisitors(n int, first uint64) []uint64 {
	var out []uint64
	for id := first; len(out) < n; id++ {
		if derived.VisitSample.Has(id) {
			out = append(out, id)
		}
	}
	return out
}
