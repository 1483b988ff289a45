package collector

import (
	"testing"
	"time"

	"github.com/websystems/loendur/internal/privacy"
)

func TestSessions(t *testing.T) {
	s := newSessions(1 << 16)
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	first := assign(s, 7, t0)
	if got := assign(s, 7, t0.Add(29*time.Minute)); got != first {
		t.Fatal("an event 29 minutes later started a new session")
	}
	// The 30 minutes run from the last event, not the first.
	if got := assign(s, 7, t0.Add(58*time.Minute)); got != first {
		t.Fatal("a visit with events every 29 minutes was split")
	}
	second := assign(s, 7, t0.Add(58*time.Minute+privacy.SessionTimeout))
	if second == first {
		t.Fatal("30 minutes without events did not end the session")
	}
	if assign(s, 8, t0) == first {
		t.Fatal("two visitors share a session id")
	}
}

func TestSessionsLearnFromPeers(t *testing.T) {
	s := newSessions(1 << 16)
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s.learn(9, 12345, t0)
	if got := assign(s, 9, t0.Add(10*time.Minute)); got != 12345 {
		t.Fatalf("session learnt from the database not continued: got %d", got)
	}
	s.learn(9, 999, t0) // older news does not override
	if got := assign(s, 9, t0.Add(11*time.Minute)); got != 12345 {
		t.Fatalf("an older session overrode a newer one: got %d", got)
	}
}

func TestSessionsBounded(t *testing.T) {
	s := newSessions(sessionShards * 10)
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for v := range uint64(10_000) {
		assign(s, v, t0)
	}
	total := 0
	for i := range s.shards {
		total += len(s.shards[i].m)
	}
	if total > sessionShards*10 {
		t.Fatalf("%d sessions held, bound is %d", total, sessionShards*10)
	}
}

func TestRateLimiter(t *testing.T) {
	l := newRateLimiter(5, 1000)
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	allowed := 0
	for range 20 {
		if l.allow(addr("192.0.2.1"), t0) {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("burst allowed %d events, want 10 (twice the rate)", allowed)
	}
	if !l.allow(addr("192.0.2.2"), t0) {
		t.Fatal("another address was limited")
	}
	if !l.allow(addr("192.0.2.1"), t0.Add(time.Second)) {
		t.Fatal("tokens did not refill after a second")
	}
	var nilLimiter *rateLimiter
	if !nilLimiter.allow(addr("192.0.2.1"), t0) {
		t.Fatal("a disabled limiter refused")
	}
}

// assign is the session id of an event of visitor at now that is not a page view.
func assign(s *sessions, visitor uint64, now time.Time) uint64 {
	id, _ := s.admit(visitor, now, false)
	return id
}
