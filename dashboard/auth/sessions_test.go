package auth

import (
	"context"
	"testing"
	"time"

	"github.com/websystems/loendur/internal/store"
	"github.com/websystems/loendur/internal/store/storetest"
)

// sessionRows counts the stored rows of the session of tok.
func sessionRows(t *testing.T, db store.Store, tok string) uint64 {
	t.Helper()
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := db.Select(context.Background(), &rows, "SELECT count() AS n FROM dashboard_sessions WHERE id_hash = ?", hashToken(tok)); err != nil {
		t.Fatal(err)
	}
	return rows[0].N
}

// login creates a session at the time at and records activity ten minutes later, so the
// session has two rows, as a used one does. now is the service's clock.
func login(t *testing.T, s *Service, now *time.Time, at time.Time, user string) string {
	t.Helper()
	ctx := context.Background()
	*now = at
	tok, _, err := s.createSession(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	*now = at.Add(10 * time.Minute)
	x, err := s.liveSession(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	s.touch(ctx, x)
	return tok
}

func TestSweepDeletesExpiredSessionsOnly(t *testing.T) {
	ctx := context.Background()
	for engine, db := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			// The injected clock: the test moves it instead of sleeping.
			var now time.Time
			s, err := New(Options{DB: db, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now().UTC().Truncate(time.Second)
			expired := login(t, s, &now, start, "sweep-expired-"+engine)
			live := login(t, s, &now, start.Add(SessionMaxAge-time.Hour), "sweep-live-"+engine)
			// A minute past the first session's maximum age; the second was active
			// 50 minutes ago.
			now = start.Add(SessionMaxAge + time.Minute)
			if _, err := s.liveSession(ctx, expired); err == nil {
				t.Fatal("the old session is still live before the sweep")
			}
			n, err := s.SweepSessions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("sweep deleted %d rows, want the expired session's 2", n)
			}
			// The delete is a mutation the engine finishes in the background.
			deadline := time.Now().Add(30 * time.Second)
			for sessionRows(t, db, expired) > 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if got := sessionRows(t, db, expired); got != 0 {
				t.Errorf("expired session: %d rows left after the sweep", got)
			}
			if got := sessionRows(t, db, live); got != 2 {
				t.Errorf("live session: %d rows, want 2", got)
			}
			if _, err := s.liveSession(ctx, live); err != nil {
				t.Errorf("live session ended by the sweep: %v", err)
			}
			if n, err := s.SweepSessions(ctx); err != nil || n != 0 {
				t.Errorf("second sweep: %d rows, %v; want nothing to delete", n, err)
			}
		})
	}
}
