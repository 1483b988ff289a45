package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/store"
)

// keyPrefix marks loendur API keys, so a leaked one is recognisable in a scanner or log.
const keyPrefix = "loendur_"

// keyTouchEvery limits last-used rows to one per key per minute.
const keyTouchEvery = time.Minute

// APIKey describes a key without the key itself, which is shown once at creation.
type APIKey struct {
	ID       string    `ch:"id" json:"id"` // the first characters of the key, to tell keys apart
	UserID   string    `ch:"user_id" json:"-"`
	KeyHash  string    `ch:"key_hash" json:"-"`
	Name     string    `ch:"name" json:"name"`
	Created  time.Time `ch:"created" json:"created"`
	LastUsed time.Time `ch:"last_used" json:"last_used"` // the Unix epoch when never used
	Revoked  uint8     `ch:"revoked" json:"-"`
}

// Used reports whether the key was ever used.
func (k APIKey) Used() bool { return k.LastUsed.Unix() > 0 }

var keyColumns = []string{"key_hash", "id", "user_id", "name", "created", "last_used", "revoked"}

// keysOf aggregates the appended rows of each key (see schema 0012).
const keysOf = `SELECT key_hash, id, user_id, name, min(created) AS created, max(last_used) AS last_used,
	max(revoked) AS revoked FROM api_keys`

const keysBy = " GROUP BY key_hash, id, user_id, name"

func writeKey(ctx context.Context, db store.Store, k APIKey) error {
	row := []any{k.KeyHash, k.ID, k.UserID, k.Name, k.Created, k.LastUsed, k.Revoked}
	if err := db.Insert(ctx, "api_keys", keyColumns, [][]any{row}); err != nil {
		return fmt.Errorf("write API key: %w", err)
	}
	return nil
}

func createKey(ctx context.Context, db store.Store, userID, name string, now time.Time) (string, APIKey, error) {
	name = strings.TrimSpace(name)
	if len(name) > 100 {
		return "", APIKey{}, invalidf("key name must have at most 100 characters")
	}
	tok := newToken()
	k := APIKey{ID: tok[:8], UserID: userID, KeyHash: hashToken(keyPrefix + tok), Name: name,
		Created: now.UTC().Truncate(time.Second), LastUsed: time.Unix(0, 0).UTC()}
	if err := writeKey(ctx, db, k); err != nil {
		return "", APIKey{}, err
	}
	return keyPrefix + tok, k, nil
}

// AddAPIKey makes a new key for the account email, for the CLI (`loendur key add`).
// The key is returned once and only its hash is stored.
func AddAPIKey(ctx context.Context, db store.Store, email string) (string, error) {
	r, err := userByEmail(ctx, db, email)
	if err != nil {
		return "", fmt.Errorf("account %s: %w", email, err)
	}
	key, k, err := createKey(ctx, db, r.ID, "cli", time.Now())
	if err != nil {
		return "", err
	}
	return key, writeAudit(ctx, db, AuditEntry{Actor: "cli", Action: "key_add", Target: r.Email, Detail: "key " + k.ID})
}

// CreateKey makes a new key for u, returned once.
func (s *Service) CreateKey(ctx context.Context, u *User, name string) (string, APIKey, error) {
	key, k, err := createKey(ctx, s.db, u.ID, name, s.now())
	if err != nil {
		return "", APIKey{}, err
	}
	s.audit(ctx, u.Email, "key_add", u.Email, "key "+k.ID, "")
	return key, k, nil
}

// ListKeys returns u's keys that are not revoked, newest first.
func (s *Service) ListKeys(ctx context.Context, u *User) ([]APIKey, error) {
	return s.liveKeys(ctx, " WHERE user_id = ?", u.ID)
}

// liveKeys returns the keys matching where that are not revoked, newest first.
func (s *Service) liveKeys(ctx context.Context, where string, args ...any) ([]APIKey, error) {
	var rows []APIKey
	q := keysOf + where + keysBy + " HAVING revoked = 0 ORDER BY created DESC"
	if err := s.db.Select(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("read API keys: %w", err)
	}
	return rows, nil
}

// RevokeKey ends u's key id. Another account's key answers ErrNotFound, as does an
// unknown one.
func (s *Service) RevokeKey(ctx context.Context, u *User, id string) error {
	return s.revokeKeys(ctx, u.Email, u.ID, u.Email, id, "")
}

// revokeKeys ends the live keys of the account userID (email target), only key id
// unless id is "", and audits each one as done by actor for reason. With an id, an
// unknown or already revoked key answers ErrNotFound.
func (s *Service) revokeKeys(ctx context.Context, actor, userID, target, id, reason string) error {
	where, args := " WHERE user_id = ?", []any{userID}
	if id != "" {
		where, args = where+" AND id = ?", append(args, id)
	}
	rows, err := s.liveKeys(ctx, where, args...)
	if err != nil {
		return err
	}
	if id != "" && len(rows) == 0 {
		return fmt.Errorf("API key %q: %w", id, ErrNotFound)
	}
	for _, k := range rows {
		k.Revoked = 1
		if err := writeKey(ctx, s.db, k); err != nil {
			return err
		}
		s.audit(ctx, actor, "key_revoke", target, strings.TrimSuffix("key "+k.ID+"; "+reason, "; "), "")
	}
	return nil
}

// UserKeys returns every account's live keys by account id, for an admin.
func (s *Service) UserKeys(ctx context.Context, actor *User) (map[string][]APIKey, error) {
	if !actor.IsAdmin() {
		return nil, ErrForbidden
	}
	rows, err := s.liveKeys(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string][]APIKey{}
	for _, k := range rows {
		out[k.UserID] = append(out[k.UserID], k)
	}
	return out, nil
}

// ListUserKeys returns the live keys of the account id, for an admin.
func (s *Service) ListUserKeys(ctx context.Context, actor *User, id string) ([]APIKey, error) {
	if !actor.IsAdmin() {
		return nil, ErrForbidden
	}
	r, err := userByID(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	return s.liveKeys(ctx, " WHERE user_id = ?", r.ID)
}

// RevokeUserKey ends key keyID of the account id, for an admin.
func (s *Service) RevokeUserKey(ctx context.Context, actor *User, id, keyID string) error {
	if !actor.IsAdmin() {
		return ErrForbidden
	}
	r, err := userByID(ctx, s.db, id)
	if err != nil {
		return err
	}
	return s.revokeKeys(ctx, actor.Email, r.ID, r.Email, keyID, "by an admin")
}

// keyUser resolves a presented key to its live, enabled account.
func (s *Service) keyUser(ctx context.Context, key string) (*User, error) {
	if !strings.HasPrefix(key, keyPrefix) {
		return nil, fmt.Errorf("API key: %w", ErrNotFound)
	}
	var rows []APIKey
	if err := s.db.Select(ctx, &rows, keysOf+" WHERE key_hash = ?"+keysBy, hashToken(key)); err != nil {
		return nil, fmt.Errorf("read API key: %w", err)
	}
	if len(rows) == 0 || rows[0].Revoked == 1 {
		return nil, fmt.Errorf("API key: %w", ErrNotFound)
	}
	r, err := userByID(ctx, s.db, rows[0].UserID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if err != nil || r.Disabled == 1 {
		return nil, fmt.Errorf("API key owner: %w", ErrNotFound)
	}
	s.touchKey(ctx, rows[0])
	return r.user(), nil
}

func (s *Service) touchKey(ctx context.Context, k APIKey) {
	now := s.now().UTC().Truncate(time.Second)
	if now.Sub(k.LastUsed) < keyTouchEvery {
		return
	}
	k.LastUsed = now
	if err := writeKey(ctx, s.db, k); err != nil {
		s.log.Warn("record API key use", "err", err)
	}
}
