package derived_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/derived/derivedtest"
	"github.com/websystems/loendur/internal/mutation"
	"github.com/websystems/loendur/internal/store/storetest"
)

// The sample's visitors as Go picks them (fixtures, tests) are those each engine picks,
// and so are the parts of it a report of a very large period reads.
func TestSampleHasAgreesWithTheEngines(t *testing.T) {
	const n = 200000
	s := derived.VisitSample
	for _, rate := range []int{s.Rate, 2 * s.Rate, s.MaxRate} {
		var want []uint64
		for id := range uint64(n) {
			if s.HasAt(id*7919, rate) {
				want = append(want, id*7919)
			}
		}
		if len(want) < n/rate/2 || len(want) > 2*n/rate {
			t.Fatalf("%d of %d ids in the sample at 1 in %d", len(want), n, rate)
		}
		for engine, db := range storetest.Engines(t) {
			var rows []struct {
				ID uint64 `ch:"visitor_id"`
			}
			q := fmt.Sprintf("SELECT visitor_id FROM (SELECT number * 7919 AS visitor_id FROM numbers(%d)) WHERE %s ORDER BY visitor_id",
				n, s.WhereAt(rate))
			if err := db.Select(context.Background(), &rows, q); err != nil {
				t.Fatalf("%s: %v", engine, err)
			}
			if len(rows) != len(want) {
				t.Fatalf("%s picks %d ids at 1 in %d, Go %d", engine, len(rows), rate, len(want))
			}
			for i, r := range rows {
				if r.ID != want[i] {
					t.Fatalf("%s: id %d at 1 in %d is %d, Go says %d", engine, i, rate, r.ID, want[i])
				}
			}
		}
	}
}

// The migration's fill of the sample adds the written visits the sample lacks, and no
// visit twice: run again after a fill cut short, it completes the table.
func TestSampleFillAddsWhatIsMissingOnce(t *testing.T) {
	ids := derivedtest.SampledVisitors(5, 1)
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			site := "fill-" + engine + ".test"
			write := func(ids []uint64) {
				var rows [][]any
				start := time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)
				for _, id := range ids {
					rows = append(rows, []any{site, id, id, start, start.Add(time.Minute), uint64(1)})
				}
				if err := db.Insert(ctx, derived.SessionsTable, []string{"site", "session_id", "visitor_id", "start_time", "end_time", "version"}, rows); err != nil {
					t.Fatal(err)
				}
			}
			write(ids) // the view copies them
			// Two of them gone from the sample: what a fill cut short leaves out.
			if err := db.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DELETE WHERE site = '%s' AND session_id IN (%d, %d)",
				derived.VisitSample.Name, site, ids[3], ids[4])); err != nil {
				t.Fatal(err)
			}
			if err := mutation.Wait(ctx, db, derived.VisitSample.Name); err != nil {
				t.Fatal(err)
			}
			held := func() (rows, visits uint64) {
				var got []struct {
					N uint64 `ch:"n"`
					U uint64 `ch:"u"`
				}
				if err := db.Select(ctx, &got, "SELECT count() AS n, uniqExact(session_id) AS u FROM "+derived.VisitSample.Name+" WHERE site = ?", site); err != nil {
					t.Fatal(err)
				}
				return got[0].N, got[0].U
			}
			if n, _ := held(); n != 3 {
				t.Fatalf("the sample holds %d of the visits before the fill, want 3", n)
			}
			for run := 1; run <= 2; run++ {
				for _, stmt := range derived.VisitSample.DDL() {
					if err := db.Exec(ctx, stmt); err != nil {
						t.Fatalf("run %d: %v", run, err)
					}
				}
				if n, u := held(); n != 5 || u != 5 {
					t.Errorf("run %d: the sample holds %d rows of %d visits, want each of the 5 once", run, n, u)
				}
			}
		})
	}
}
