// Package testclock is the settable clock tests inject wherever code takes its time
// from a `func() time.Time` (pass Clock.Now): a test moves the clock instead of
// sleeping. It is safe for concurrent use, since the code under test may read the time
// from its own goroutines.
package testclock

import (
	"sync"
	"time"
)

// Clock is a time that moves only when the test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New is a clock at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
