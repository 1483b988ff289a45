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
	perNano float64 // tokens a nanosecond
	burst   float64
	max     int
	mu      sync.Mutex
	buckets map[netip.Addr]tokenBucket
}

func newRateLimiter(perSecond float64, maxAddrs int) *rateLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &rateLimiter{perNano: perSecond / 1e9, burst: 2 * perSecond, max: maxAddrs, buckets: make(map[netip.Addr]tokenBucket)}
}

// allow spends one token of addr's bucket; a nil limiter allows everything.
func (l *rateLimiter) allow(addr netip.Addr, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok && len(l.buckets) >= l.max {
		l.sweepLocked(now)
	}
	allowed := b.take(now.UnixNano(), l.perNano, l.burst)
	l.buckets[addr] = b
	return allowed
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
		if b.fullAt(now.UnixNano(), l.perNano, l.burst) {
			delete(l.buckets, a)
		}
	}
}

// tokenBucket holds up to burst tokens that come back at perNano a nanosecond: the
// collector's rate limit per address and a visitor's page-view pace (bursts). Its zero
// value is full (it has refilled since the start of Unix time), and it holds no pointer,
// so the garbage collector need not scan a map of them.
type tokenBucket struct {
	tokens float64
	last   int64 // Unix nanoseconds
}

// take spends a token at t (Unix nanoseconds); false means none is left.
func (b *tokenBucket) take(t int64, perNano, burst float64) bool {
	if t > b.last {
		b.tokens = min(burst, b.tokens+float64(t-b.last)*perNano)
		b.last = t
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// fullAt says whether the bucket has refilled by t.
func (b tokenBucket) fullAt(t int64, perNano, burst float64) bool {
	return b.tokens+float64(t-b.last)*perNano >= burst
}
