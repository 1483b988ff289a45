package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// Session lifetimes: a session ends after SessionIdle without requests or SessionMaxAge
// after login, whichever comes first.
const (
	SessionCookie = "loendur_session"
	SessionIdle   = 12 * time.Hour
	SessionMaxAge = 7 * 24 * time.Hour
	// touchEvery limits activity rows to one per session per interval: the idle limit
	// does not need finer time, and each insert is a part for ClickHouse to merge.
	touchEvery = 5 * time.Minute
)

type session struct {
	IDHash   string    `ch:"id_hash"`
	UserID   string    `ch:"user_id"`
	Created  time.Time `ch:"created"`
	Expires  time.Time `ch:"expires"`
	LastSeen time.Time `ch:"last_seen"`
	Revoked  uint8     `ch:"revoked"`
}

var sessionColumns = []string{"id_hash", "user_id", "created", "expires", "last_seen", "revoked"}

// sessionsOf aggregates the appended rows of each session (see schema 0011); add a
// WHERE on id_hash or user_id (never aliased, so WHERE sees the columns) and
// sessionsBy.
const sessionsOf = `SELECT id_hash, user_id, min(created) AS created, min(expires) AS expires,
	max(last_seen) AS last_seen, max(revoked) AS revoked FROM dashboard_sessions`

const sessionsBy = " GROUP BY id_hash, user_id"

// newToken returns 256 random bits, URL-safe: session ids and API keys.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than returning short)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how session ids and keys are stored: a database leak reveals no usable
// credential. SHA-256 suffices (no salt, no stretching) because tokens are 256 random bits.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// csrfToken derives a session's CSRF token from its id: bound to the session, rotated
// with it, and needing no storage. The id cannot be recovered from the token.
func csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, []byte(sessionToken))
	m.Write([]byte("loendur csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Service) createSession(ctx context.Context, userID string) (string, time.Time, error) {
	tok := newToken()
	now := s.now().UTC().Truncate(time.Second)
	sess := session{IDHash: hashToken(tok), UserID: userID, Created: now, Expires: now.Add(SessionMaxAge), LastSeen: now}
	if err := s.writeSession(ctx, sess); err != nil {
		return "", time.Time{}, err
	}
	return tok, sess.Expires, nil
}

func (s *Service) writeSession(ctx context.Context, x session) error {
	row := []any{x.IDHash, x.UserID, x.Created, x.Expires, x.LastSeen, x.Revoked}
	if err := s.db.Insert(ctx, "dashboard_sessions", sessionColumns, [][]any{row}); err != nil {
		return fmt.Errorf("write session: %w", err)
	}
	return nil
}

// liveSession returns the session of tok, or ErrNotFound when there is none or it has
// ended (revoked, idle too long, too old).
func (s *Service) liveSession(ctx context.Context, tok string) (*session, error) {
	var rows []session
	if err := s.db.Select(ctx, &rows, sessionsOf+" WHERE id_hash = ?"+sessionsBy, hashToken(tok)); err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	now := s.now()
	if len(rows) == 0 || rows[0].Revoked == 1 || !now.Before(rows[0].Expires) || now.Sub(rows[0].LastSeen) > SessionIdle {
		return nil, fmt.Errorf("session: %w", ErrNotFound)
	}
	return &rows[0], nil
}

// touch records activity, at most once per touchEvery.
func (s *Service) touch(ctx context.Context, x *session) {
	now := s.now().UTC().Truncate(time.Second)
	if now.Sub(x.LastSeen) < touchEvery {
		return
	}
	t := *x
	t.LastSeen = now
	if err := s.writeSession(ctx, t); err != nil {
		s.log.Warn("record session activity", "err", err)
	}
}

func (s *Service) revokeSession(ctx context.Context, x session) error {
	x.Revoked = 1
	return s.writeSession(ctx, x)
}

// revokeToken ends the session of tok if it is live (logout, rotation at login).
func (s *Service) revokeToken(ctx context.Context, tok string) error {
	x, err := s.liveSession(ctx, tok)
	if err != nil {
		return nil // nothing to end
	}
	return s.revokeSession(ctx, *x)
}

// revokeUserSessions ends every session of an account (disabled, password changed).
func (s *Service) revokeUserSessions(ctx context.Context, userID string) error {
	var rows []session
	err := s.db.Select(ctx, &rows, sessionsOf+" WHERE user_id = ?"+sessionsBy+" HAVING revoked = 0", userID)
	if err != nil {
		return fmt.Errorf("read sessions: %w", err)
	}
	for _, x := range rows {
		if err := s.revokeSession(ctx, x); err != nil {
			return err
		}
	}
	return nil
}

// SweepInterval is how often the rows of expired sessions are deleted. Each sweep that
// finds some is one ALTER TABLE … DELETE (a mutation rewrites the parts it touches), so
// it runs hourly rather than per request; rows live at most this long past expiry.
const SweepInterval = time.Hour

// Run deletes the rows of expired sessions now and then every SweepInterval until ctx
// ends. Several processes may run it at once: deleting rows already deleted is harmless.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		if _, err := s.SweepSessions(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("delete expired dashboard sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// expiredSessions selects the rows of sessions past SessionMaxAge. Every row of a
// session carries the same expires (activity and revocation rows copy it), so this
// takes a session's rows all together: a delete half-way through its parts can never
// leave a row that makes an ended session live again, as deleting only a revocation
// row would. The rows of sessions that ended earlier (logout, idle) go with the rest,
// once SessionMaxAge after their login has passed.
const expiredSessions = "expires < ?"

// SweepSessions deletes the rows of expired sessions and returns how many there were.
// It counts first, so an hour with nothing expired costs one count and no mutation.
// The delete is a mutation (ClickHouse 18.16 has no lightweight DELETE) that the
// engine finishes in the background.
func (s *Service) SweepSessions(ctx context.Context) (uint64, error) {
	cutoff := s.now().UTC()
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := s.db.Select(ctx, &rows, "SELECT count() AS n FROM dashboard_sessions WHERE "+expiredSessions, cutoff); err != nil {
		return 0, fmt.Errorf("count expired sessions: %w", err)
	}
	if len(rows) == 0 || rows[0].N == 0 {
		return 0, nil
	}
	if err := s.db.Exec(ctx, "ALTER TABLE dashboard_sessions DELETE WHERE "+expiredSessions, cutoff); err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	s.log.Info("expired dashboard sessions deleted", "rows", rows[0].N)
	return rows[0].N, nil
}
