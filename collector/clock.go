package collector

import (
	"sync/atomic"
	"time"
)

// clock stamps events in the order they arrive: to the microsecond (the events table's
// time_us), never twice the same and never earlier than the last stamp, even when the
// wall clock steps back or two events arrive within one microsecond. Entry and exit
// pages, bounces and funnels follow this order, so a page view and the engagement event
// sent as the next one starts must never tie.
type clock struct {
	last atomic.Int64 // Unix microseconds of the latest stamp
}

// stamp returns now to the microsecond, or one microsecond after the previous stamp
// when now is not later than it.
func (c *clock) stamp(now time.Time) time.Time {
	us := now.UnixMicro()
	for {
		last := c.last.Load()
		next := max(us, last+1)
		if c.last.CompareAndSwap(last, next) {
			return time.UnixMicro(next).UTC()
		}
	}
}
