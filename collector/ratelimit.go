package collector

import (
	"net/netip"
	"sync"
	"time"
)

// rateLimiter is a token bucket per client address, kept only in memory. Addresses are
// forgotten when their bucket is full again, and all at once if the table grows past its
// bound (a flood of distinct addresses then briefly gets fresh buckets, not more memory).
type rateLimiter struct {
	perSecond float64
	burst     float64
	max       int
	mu        sync.Mutex
	buckets   map[netip.Addr]bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond float64, maxAddrs int) *rateLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &rateLimiter{perSecond: perSecond, burst: 2 * perSecond, max: maxAddrs, buckets: make(map[netip.Addr]bucket)}
}

// allow spends one token of addr's bucket; a nil limiter allows everything.
func (l *rateLimiter) allow(addr netip.Addr, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) >= l.max {
			l.sweepLocked(now)
		}
		b = bucket{tokens: l.burst, last: now}
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.perSecond)
	b.last = now
	if b.tokens < 1 {
		l.buckets[addr] = b
		return false
	}
	b.tokens--
	l.buckets[addr] = b
	return true
}

func (l *rateLimiter) sweepLocked(now time.Time) {
	l.forgetRefilledLocked(now)
	if len(l.buckets) >= l.max {
		clear(l.buckets)
	}
}

// sweep forgets addresses whose buckets have refilled; run periodically.
func (l *rateLimiter) sweep(now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetRefilledLocked(now)
}

func (l *rateLimiter) forgetRefilledLocked(now time.Time) {
	for a, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.perSecond >= l.burst {
			delete(l.buckets, a)
		}
	}
}
