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

// sessions assigns session ids: a visitor's event continues their session when their
// previous event is less than privacy.SessionTimeout old, and starts a new one otherwise.
// State is in memory, warmed from ClickHouse at start and optionally synced from it
// (see README: "Several collectors").
type sessions struct {
	shards     [sessionShards]sessionShard
	maxEntries int
}

// A shard maps a visitor id to its session. The visitor id alone is the key: it is a
// keyed hash of the site among other things, so it never repeats across sites. Keys and
// values hold no pointer, so the garbage collector need not scan a map of a million
// visitors.
type sessionShard struct {
	mu sync.Mutex
	m  map[uint64]sessionState
}

type sessionState struct {
	id   uint64
	last int64 // Unix nanoseconds of the visitor's latest event
}

func (st sessionState) idleAt(now time.Time) bool {
	return time.Duration(now.UnixNano()-st.last) >= privacy.SessionTimeout
}

func newSessions(maxEntries int) *sessions {
	s := &sessions{maxEntries: maxEntries}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]sessionState)
	}
	return s
}

func (s *sessions) shard(visitor uint64) *sessionShard { return &s.shards[visitor%sessionShards] }

// assign returns the session id of an event of visitor at time now.
func (s *sessions) assign(visitor uint64, now time.Time) uint64 {
	sh := s.shard(visitor)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st, ok := sh.m[visitor]
	if !ok || st.idleAt(now) {
		if limit := s.maxEntries / sessionShards; !ok && len(sh.m) >= limit {
			sh.evictIdle(now, limit)
		}
		st.id = privacy.SessionID(visitor, now)
	}
	st.last = max(st.last, now.UnixNano())
	sh.m[visitor] = st
	return st.id
}

// evictIdle drops ended sessions; when every entry is live it drops all, which at worst
// splits some visits in two rather than letting memory grow without bound.
func (sh *sessionShard) evictIdle(now time.Time, limit int) {
	for k, st := range sh.m {
		if st.idleAt(now) {
			delete(sh.m, k)
		}
	}
	if len(sh.m) >= limit {
		clear(sh.m)
	}
}

// sweep removes ended sessions; run periodically.
func (s *sessions) sweep(now time.Time) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, st := range sh.m {
			if st.idleAt(now) {
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
		sh.m[visitor] = sessionState{id: id, last: last.UnixNano()}
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
