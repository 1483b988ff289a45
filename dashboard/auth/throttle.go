package auth

import (
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Sign-in throttling, kept in memory (a restart forgets it, which only helps the owner
// of the account). README "Sign-in throttling" states this policy; keep the two alike.
//
// An attempt reserves its place before the password is checked, so a burst of
// parallel guesses is counted as it arrives, not after the checks: an attempt in
// flight counts as a failure until it ends. Three counters see every attempt:
//
//   - the account at this address (the pair): a person who mistypes is locked out
//     only where they mistyped, and a guesser elsewhere cannot lock them out;
//   - the account everywhere: slower, against guessing spread over many addresses.
//     Its lock does not apply at an address the account signed in from recently, so
//     the owner keeps signing in where they usually do;
//   - the address, over all accounts: against one address spraying many accounts.
//     It is looser, as offices share one address behind NAT.
//
// After a counter's free failures, each further failure doubles its lock up to the
// longest. IPv6 addresses count by /64, what one subscriber usually gets.
type limit struct {
	free     int           // failures before the first lock
	first    time.Duration // the first lock; each further failure doubles it
	longest  time.Duration
	forget   time.Duration // failures stop counting after this long without one
	inFlight int           // attempts checked at the same time; 0: no cap of its own
}

var (
	pairLimit    = limit{free: 5, first: time.Minute, longest: 30 * time.Minute, forget: time.Hour}
	accountLimit = limit{free: 30, first: 5 * time.Minute, longest: time.Hour, forget: 24 * time.Hour, inFlight: 2}
	addressLimit = limit{free: 20, first: time.Minute, longest: 30 * time.Minute, forget: time.Hour, inFlight: 8}
)

const (
	// familiarFor is how long a successful sign-in makes its address one where the
	// account's own lock does not apply.
	familiarFor = 30 * 24 * time.Hour
	// familiarMax bounds the addresses remembered per account.
	familiarMax = 8
	// busyWait is the Retry-After of an attempt refused because others are in flight.
	busyWait = 5 * time.Second
	// maxEntries bounds memory under a spray of addresses or emails.
	maxEntries = 100_000
)

// ThrottledError says when the next attempt is allowed.
type ThrottledError struct {
	Wait time.Duration
	Busy bool // refused because other attempts for the account or address are in flight
}

func (e *ThrottledError) Error() string {
	if e.Busy {
		return "too many sign-in attempts at once for this account or address; try again in a few seconds"
	}
	m := int((e.Wait + time.Minute - 1) / time.Minute)
	unit := "minutes"
	if m == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("too many failed sign-ins; try again in %d %s", m, unit)
}

type counter struct {
	failures int
	inFlight int
	last     time.Time // of the last failure
	until    time.Time // locked until
}

type throttle struct {
	mu       sync.Mutex
	now      func() time.Time
	entries  map[string]*counter             // "pair:…", "acct:…" or "addr:…"
	familiar map[string]map[string]time.Time // account → address group → last sign-in
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, entries: map[string]*counter{}, familiar: map[string]map[string]time.Time{}}
}

// addrGroup is the unit an address is counted by: IPv4 addresses one by one, IPv6 by
// /64. It stays in memory only.
func addrGroup(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// attempt is a reserved place: end it exactly once with its outcome.
type attempt struct {
	t       *throttle
	account string
	group   string
	keys    []string
	limits  []limit
}

type outcome int

const (
	failed    outcome = iota // a wrong password or code: counts
	succeeded                // clears the pair's failures and makes the address familiar
	neutral                  // neither (a disabled account, a code still needed, an error)
)

// reserve takes a place for one attempt on account from addr, or says how long to wait.
// It takes all three places or none.
func (t *throttle) reserve(account string, addr netip.Addr) (*attempt, error) {
	group := addrGroup(addr)
	if len(account) > 254 { // no account has such an email; keep the key small
		account = "long:" + hashToken(account)
	}
	a := &attempt{t: t, account: account, group: group,
		keys:   []string{"pair:" + account + "|" + group, "acct:" + account, "addr:" + group},
		limits: []limit{pairLimit, accountLimit, addressLimit}}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	familiar := t.isFamiliar(account, group, now)
	for i, k := range a.keys {
		c := t.counter(k, a.limits[i], now)
		if err := c.admits(a.limits[i], now, i == 1 && familiar); err != nil {
			return nil, err
		}
	}
	for _, k := range a.keys {
		t.entries[k].inFlight++
	}
	return a, nil
}

// admits says whether one more attempt may start. An attempt in flight counts as a
// failure, so no more may run at once than failures remain before the lock. onlyCap
// checks the in-flight cap alone (the account's own lock at a familiar address).
func (c *counter) admits(l limit, now time.Time, onlyCap bool) error {
	if l.inFlight > 0 && c.inFlight >= l.inFlight {
		return &ThrottledError{Wait: busyWait, Busy: true}
	}
	if onlyCap {
		return nil
	}
	if c.until.After(now) {
		return &ThrottledError{Wait: c.until.Sub(now)}
	}
	if c.inFlight >= max(1, l.free-c.failures) {
		return &ThrottledError{Wait: busyWait, Busy: true}
	}
	return nil
}

// counter returns key's counter, starting afresh when its failures are forgotten.
func (t *throttle) counter(key string, l limit, now time.Time) *counter {
	c := t.entries[key]
	if c != nil && c.failures > 0 && now.Sub(c.last) > l.forget && !c.until.After(now) {
		c.failures = 0
	}
	if c == nil {
		t.prune(now)
		c = &counter{}
		t.entries[key] = c
	}
	return c
}

// end records how the attempt went and frees its place.
func (a *attempt) end(o outcome) {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for i, k := range a.keys {
		c := t.counter(k, a.limits[i], now)
		c.inFlight = max(0, c.inFlight-1)
		switch {
		case o == failed:
			c.fail(a.limits[i], now)
		case o == succeeded && i == 0:
			c.failures, c.until = 0, time.Time{}
		}
	}
	if o == succeeded {
		t.remember(a.account, a.group, now)
	}
}

func (c *counter) fail(l limit, now time.Time) {
	c.failures++
	c.last = now
	if over := c.failures - l.free; over >= 0 {
		c.until = now.Add(min(l.first<<min(over, 20), l.longest))
	}
}

func (t *throttle) isFamiliar(account, group string, now time.Time) bool {
	seen, ok := t.familiar[account][group]
	return ok && now.Sub(seen) < familiarFor
}

// remember makes group familiar for account, keeping the most recent few.
func (t *throttle) remember(account, group string, now time.Time) {
	m := t.familiar[account]
	if m == nil {
		m = map[string]time.Time{}
		t.familiar[account] = m
	}
	m[group] = now
	for len(m) > familiarMax {
		oldest := ""
		for g, seen := range m {
			if oldest == "" || seen.Before(m[oldest]) {
				oldest = g
			}
		}
		delete(m, oldest)
	}
}

// prune bounds memory: first counters that no longer matter, then, under a flood, any
// that is not locked or in use (forgetting failures only helps whoever made them, and
// the flood's own addresses are locked).
func (t *throttle) prune(now time.Time) {
	if len(t.entries) < maxEntries {
		return
	}
	for k, c := range t.entries {
		if c.inFlight == 0 && !c.until.After(now) && (c.failures == 0 || now.Sub(c.last) > time.Hour) {
			delete(t.entries, k)
		}
	}
	for k, c := range t.entries {
		if len(t.entries) < maxEntries/2 {
			break
		}
		if c.inFlight == 0 && !c.until.After(now) {
			delete(t.entries, k)
		}
	}
}
