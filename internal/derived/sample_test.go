package derived_test

import (
	"context"
	"testing"

	"github.com/websystems/loendur/internal/derived"
	"github.com/websystems/loendur/internal/store/storetest"
)

// The sample's visitors as Go picks them (fixtures, tests) are those each engine picks.
func TestSampleHasAgreesWithTheEngines(t *testing.T) {
	const n = 20000
	var want []uint64
	for id := range uint64(n) {
		if derived.VisitSample.Has(id * 7919) {
			want = append(want, id*7919)
		}
	}
	if len(want) < n/derived.VisitSample.Rate/2 || len(want) > 2*n/derived.VisitSample.Rate {
		t.Fatalf("%d of %d ids in the sample, want about 1 in %d", len(want), n, derived.VisitSample.Rate)
	}
	for engine, db := range storetest.Engines(t) {
		var rows []struct {
			ID uint64 `ch:"visitor_id"`
		}
		q := "SELECT visitor_id FROM (SELECT number * 7919 AS visitor_id FROM numbers(20000)) WHERE " +
			derived.VisitSample.Where() + " ORDER BY visitor_id"
		if err := db.Select(context.Background(), &rows, q); err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		if len(rows) != len(want) {
			t.Fatalf("%s picks %d ids, Go %d", engine, len(rows), len(want))
		}
		for i, r := range rows {
			if r.ID != want[i] {
				t.Fatalf("%s: id %d is %d, Go says %d", engine, i, r.ID, want[i])
			}
		}
	}
}
