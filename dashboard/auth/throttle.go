package auth

import (
	"fmt"
	"sync"
	"time"
)

// Login throttling, kept in memory (a restart forgets it, which only helps the owner of
// the account). After the free failures each further failure doubles the lock, so a
// guesser gets a handful of tries an hour while a person who mistyped waits a minute.
const (
	accountFreeFailures = 5  // failures per email before the first lock
	addressFreeFailures = 20 // per client address: offices share one behind NAT
	firstLock           = time.Minute
	longestLock         = 30 * time.Minute
	forgetAfter         = time.Hour // failures older than this no longer count
)

// ThrottledError says when the next attempt is allowed.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string {
	m := int((e.Wait + time.Minute - 1) / time.Minute)
	unit := "minutes"
	if m == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("too many failed sign-ins; try again in %d %s", m, unit)
}

type failures struct {
	count int
	last  time.Time
	until time.Time
}

type throttle struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]*failures // "email:…" or "addr:…"
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, entries: map[string]*failures{}}
}

// wait returns how long the caller must still wait before trying any of keys.
func (t *throttle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	for _, k := range keys {
		if f := t.entries[k]; f != nil && f.until.After(now) {
			longest = max(longest, f.until.Sub(now))
		}
	}
	return longest
}

// fail counts a failure against key; free is how many are allowed before locking.
func (t *throttle) fail(key string, free int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.entries[key]
	if f == nil || now.Sub(f.last) > forgetAfter {
		f = &failures{}
		t.entries[key] = f
	}
	f.count++
	f.last = now
	if over := f.count - free; over >= 0 {
		f.until = now.Add(min(firstLock<<min(over, 10), longestLock))
	}
	t.prune(now)
}

func (t *throttle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}

// prune bounds memory under a spray of addresses or emails.
func (t *throttle) prune(now time.Time) {
	if len(t.entries) < 10000 {
		return
	}
	for k, f := range t.entries {
		if now.Sub(f.last) > forgetAfter && !f.until.After(now) {
			delete(t.entries, k)
		}
	}
}
