package derived

import (
	"slices"
	"testing"
	"time"
)

// Steps grow from a day to maxStep over a quiet history, and a step that would hold a
// burst is halved until it holds at most stepEvents events, down to a day, which is
// read whole as before.
func TestStepsGrowOverQuietDaysAndShrinkAtABurst(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	burst := start.AddDate(0, 0, 70) // quiet until then: 300 events a day
	eventsUntil := func(from, until time.Time) uint64 {
		n := uint64(until.Sub(from).Hours() / 24 * 300)
		if until.After(burst) && !from.After(burst) {
			n += 10 * stepEvents
		}
		return n
	}
	target := start.AddDate(0, 0, 200)
	var spans []int // days
	done, step := start, firstStep
	for done.Before(target) {
		until, err := stepWithin(done, target, step, func(until time.Time) (uint64, error) { return eventsUntil(done, until), nil })
		if err != nil {
			t.Fatal(err)
		}
		if n := eventsUntil(done, until); n > stepEvents && until.Sub(done) > firstStep {
			t.Fatalf("the step from %s to %s holds %d events, over %d", done.Format(time.DateOnly), until.Format(time.DateOnly), n, stepEvents)
		}
		spans = append(spans, int(until.Sub(done).Hours()/24))
		step = nextStep(until.Sub(done), int(eventsUntil(done, until)/3)) // about 3 events a visit
		done = until
	}
	// Up to 32 days; halved before the burst until a step leaves it out, the burst's day
	// on its own, then a day after it and growing again.
	want := []int{1, 2, 4, 8, 16, 32, 4, 2, 1, 1, 1, 2, 4, 8, 16, 32, 32, 32, 2}
	if !slices.Equal(spans, want) {
		t.Errorf("steps of %v days, want %v", spans, want)
	}
}
