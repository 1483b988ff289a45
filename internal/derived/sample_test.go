package derived_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/websystems/loendur/internal/derived"
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
