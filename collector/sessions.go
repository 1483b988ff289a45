package collector

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/store"
)

const sessionShards = 64

// sessions is what the collector remembers of each visitor between events: the session
// their events belong to, and the pace of their page views (bursts, drops.go). A
// visitor's event continues their session when their previous event is less than
// privacy.SessionTimeout old, and starts a new one otherwise. State is in memory, warmed
// from ClickHouse at start and optionally synced from it (see README: "Several
// collectors"). Both live in one entry so that an event costs one lookup, not two.
type sessions struct {
	shards     [sessionShards]sessionShard
	maxEntries int
}

// A shard maps a visitor id to its state. The visitor id alone is the key: it is a
// keyed hash of the site among other things, so it never repeats across sites. Keys and
// values hold no pointer, so the garbage collector need not scan a map of a million
// visitors.
type sessionShard struct {
	mu sync.Mutex
	m  map[uint64]sessionState
}

type sessionState struct {
	id   uint64
	last int64       // Unix nanoseconds of the visitor's latest admitted event
	pace tokenBucket // page views (bursts)
}

func (st sessionState) idleAt(now time.Time) bool {
	return time.Duration(now.UnixNano()-st.last) >= privacy.SessionTimeout
}

// forgettableAt: the session has ended and no page view was dropped for a session's
// length, by which time the visitor's bucket is full again.
func (st sessionState) forgettableAt(now time.Time) bool {
	return time.Duration(now.UnixNano()-max(st.last, st.pace.last)) >= privacy.SessionTimeout
}

func newSessions(maxEntries int) *sessions {
	s := &sessions{maxEntries: maxEntries}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]sessionState)
	}
	return s
}

func (s *sessions) shard(visitor uint64) *sessionShard { return &s.shards[visitor%sessionShards] }

// admit takes an event of visitor at time now and returns its session id; a page view
// that came faster than a person reads is refused (ok false) and starts or extends no
// session.
func (s *sessions) admit(visitor uint64, now time.Time, pageview bool) (id uint64, ok bool) {
	sh := s.shard(visitor)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, known := sh.m[visitor]
	if limit := s.maxEntries / sessionShards; !known && len(sh.m) >= limit {
		sh.evictIdle(now, limit)
	}
	if pageview && !st.pace.take(now.UnixNano(), readPerNano, burstPages) {
		sh.m[visitor] = st
		return 0, false
	}
	if !known || st.idleAt(now) {
		st.id = privacy.SessionID(visitor, now)
	}
	st.last = max(st.last, now.UnixNano())
	sh.m[visitor] = st
	return st.id, true
}

// evictIdle drops forgettable entries; when every entry is live it drops all, which at
// worst splits some visits in two rather than letting memory grow without bound.
func (sh *sessionShard) evictIdle(now time.Time, limit int) {
	for k, st := range sh.m {
		if st.forgettableAt(now) {
			delete(sh.m, k)
		}
	}
	if len(sh.m) >= limit {
		clear(sh.m)
	}
}

// sweep removes forgettable entries; run periodically.
func (s *sessions) sweep(now time.Time) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, st := range sh.m {
			if st.forgettableAt(now) {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// learn adopts a session seen in ClickHouse (written by this or another collector)
// when it is newer than what this collector knows of that visitor.
func (s *sessions) learn(visitor, id uint64, last time.Time) {
	sh := s.shard(visitor)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if st, ok := sh.m[visitor]; !ok || last.UnixNano() > st.last {
		st.id, st.last = id, last.UnixNano()
		sh.m[visitor] = st
	}
}

// syncFrom loads the latest session of every visitor with an event since `since`.
func (s *sessions) syncFrom(ctx context.Context, db store.Store, since time.Time) (int, error) {
	var rows []struct {
		Site      string    `ch:"site"`
		VisitorID uint64    `ch:"visitor_id"`
		SessionID uint64    `ch:"session_id"`
		Last      time.Time `ch:"last"`
	}
	err := db.Select(ctx, &rows, `SELECT site, visitor_id, argMax(session_id, timestamp) AS session_id, max(timestamp) AS last
		FROM events WHERE timestamp >= ? GROUP BY site, visitor_id`, since)
	if err != nil {
		return 0, fmt.Errorf("sync sessions: %w", err)
	}
	for _, r := range rows {
		s.learn(r.VisitorID, r.SessionID, r.Last)
	}
	return len(rows), nil
}
