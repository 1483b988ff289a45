package collector

import (
	"sync"
	"testing"
	"time"
)

// Events arriving in the same microsecond, or while the wall clock steps back, still get
// distinct stamps in arrival order, from any number of goroutines.
func TestClockStampsInArrivalOrder(t *testing.T) {
	var c clock
	at := time.Date(2024, 3, 4, 8, 0, 0, 123456789, time.UTC)
	first := c.stamp(at)
	if want := at.Truncate(time.Microsecond); !first.Equal(want) {
		t.Fatalf("first stamp %v, want %v", first, want)
	}
	second := c.stamp(at)
	back := c.stamp(at.Add(-time.Second))
	if !second.After(first) || !back.After(second) {
		t.Fatalf("stamps %v, %v, %v are not increasing", first, second, back)
	}
	later := c.stamp(at.Add(time.Second))
	if !later.Equal(at.Add(time.Second).Truncate(time.Microsecond)) {
		t.Fatalf("stamp after the clock moved on: %v", later)
	}
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				us := c.stamp(at).UnixMicro()
				mu.Lock()
				if seen[us] {
					t.Errorf("stamp %d given twice", us)
				}
				seen[us] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
