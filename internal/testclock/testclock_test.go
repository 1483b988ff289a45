package testclock

import (
	"sync"
	"testing"
	"time"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	t0 := time.Date(2024, 3, 6, 12, 0, 0, 0, time.UTC)
	c := New(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	c.Add(90 * time.Second)
	if got, want := c.Now(), t0.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("after Add: Now = %v, want %v", got, want)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("after Set: Now = %v, want %v", got, t0)
	}
}

// Run with -race: readers on other goroutines while the test moves the clock.
func TestClockConcurrentUse(t *testing.T) {
	c := New(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				c.Now()
			}
		})
	}
	for range 1000 {
		c.Add(time.Second)
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(time.Unix(1000, 0)) {
		t.Fatalf("Now = %v after 1000 steps of a second, want %v", got, time.Unix(1000, 0))
	}
}
