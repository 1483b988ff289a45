// Package shares owns shared links (schema/0040_shared_links.sql): read-only links to
// one site's report page, for a client who has no staff account, optionally behind a
// password, until an expiry date, embeddable in frames of listed origins. It stores
// them, resolves a presented token, and records creation and revocation in the audit
// log; the pages that serve a link live in the dashboard. Passwords arrive hashed (the
// dashboard hashes them like staff passwords); tokens are stored as their SHA-256 only.
//
// It also owns the per-site setting that lets a site's client managers create links
// themselves (schema/0041_share_settings.sql), and ListActive, which says whether a
// site's figures are currently shared outside the agency and with which origins.
package shares

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/websystems/loendur/internal/audit"
	"github.com/websystems/loendur/internal/store"
)

// PathPrefix starts the path of every shared link: PathPrefix + token.
const PathPrefix = "/share/"

// Limits of a link's fields.
const (
	MaxName    = 100
	MaxOrigins = 20
	// touchEvery limits last-used rows to one per link per minute.
	touchEvery = time.Minute
)

// Errors callers map to answers; messages wrapped around ErrInvalid are meant for the
// person who typed the input.
var (
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound is the one answer for a link that never existed, was revoked or has
	// expired, so none of the three can be told apart from outside.
	ErrNotFound = errors.New("no such shared link")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Link is a shared link as stored, without its token.
type Link struct {
	Site         string    `ch:"site" json:"site"`
	ID           string    `ch:"id" json:"id"` // random, unrelated to the token
	TokenHash    string    `ch:"token_hash" json:"-"`
	Name         string    `ch:"name" json:"name"`
	PasswordHash string    `ch:"password_hash" json:"-"`
	CSVAllowed   uint8     `ch:"csv" json:"-"`
	EmbedOrigins []string  `ch:"embed_origins" json:"embed_origins"`
	Expires      time.Time `ch:"expires" json:"-"` // the Unix epoch: never
	Created      time.Time `ch:"created" json:"created"`
	CreatedBy    string    `ch:"created_by" json:"created_by"`
	LastUsed     time.Time `ch:"last_used" json:"-"` // the Unix epoch: never used
	Revoked      uint8     `ch:"revoked" json:"-"`
}

// HasPassword reports whether the link asks for a password.
func (l Link) HasPassword() bool { return l.PasswordHash != "" }

// CSV reports whether the link's page may download CSV.
func (l Link) CSV() bool { return l.CSVAllowed == 1 }

// Expiring reports whether the link has an expiry.
func (l Link) Expiring() bool { return l.Expires.Unix() > 0 }

// Used reports whether the link was ever opened.
func (l Link) Used() bool { return l.LastUsed.Unix() > 0 }

// Active reports whether the link works at now: not revoked and not expired.
func (l Link) Active(now time.Time) bool {
	return l.Revoked == 0 && (!l.Expiring() || now.Before(l.Expires))
}

var columns = []string{"site", "id", "token_hash", "name", "password_hash", "csv", "embed_origins",
	"expires", "created", "created_by", "last_used", "revoked"}

// linksOf aggregates the appended rows of each link (see schema 0040) that match a
// condition on the stored rows (a subquery: the aggregates' aliases are the columns'
// names, which a WHERE beside them would mean).
const linksOf = `SELECT site, id, any(token_hash) AS token_hash, any(name) AS name,
	any(password_hash) AS password_hash, any(csv) AS csv, any(embed_origins) AS embed_origins,
	any(expires) AS expires, min(created) AS created, any(created_by) AS created_by,
	max(last_used) AS last_used, max(revoked) AS revoked
	FROM (SELECT * FROM shared_links WHERE %s) GROUP BY site, id %s`

func write(ctx context.Context, db store.Store, l Link) error {
	origins := l.EmbedOrigins
	if origins == nil {
		origins = []string{}
	}
	row := []any{l.Site, l.ID, l.TokenHash, l.Name, l.PasswordHash, l.CSVAllowed, origins,
		l.Expires.UTC(), l.Created.UTC(), l.CreatedBy, l.LastUsed.UTC(), l.Revoked}
	if err := db.Insert(ctx, "shared_links", columns, [][]any{row}); err != nil {
		return fmt.Errorf("write shared link: %w", err)
	}
	return nil
}

// New is what a person asks for when creating a link.
type New struct {
	Site         string    // a registered site, normalised
	Name         string    // for the agency's own list
	PasswordHash string    // "" for none; hashed by the caller like a staff password
	Expires      time.Time // zero: never; the link stops working at this instant
	CSV          bool      // the page may download CSV
	EmbedOrigins []string  // origins whose pages may frame the link (see ParseOrigin)
	By           string    // who creates it, for the audit log: an email or "cli"
}

// Create stores a new link and returns its token, shown once: the link is
// PathPrefix + token.
func Create(ctx context.Context, db store.Store, in New, now time.Time) (string, Link, error) {
	name := strings.TrimSpace(in.Name)
	if utf8.RuneCountInString(name) > MaxName {
		return "", Link{}, invalidf("a link's name must have at most %d characters", MaxName)
	}
	if in.Site == "" {
		return "", Link{}, invalidf("name the site")
	}
	origins, err := ParseOrigins(in.EmbedOrigins)
	if err != nil {
		return "", Link{}, err
	}
	if !in.Expires.IsZero() && !in.Expires.After(now) {
		return "", Link{}, invalidf("the expiry must be in the future")
	}
	if in.Expires.After(latestExpiry) {
		return "", Link{}, invalidf("the expiry must be before %s; leave it out for a link that does not expire", latestExpiry.Format(time.DateOnly))
	}
	token := newToken()
	l := Link{Site: in.Site, ID: newID(), TokenHash: hashToken(token), Name: name, PasswordHash: in.PasswordHash,
		EmbedOrigins: origins, Expires: epochIfZero(in.Expires), Created: now.UTC().Truncate(time.Second),
		CreatedBy: in.By, LastUsed: time.Unix(0, 0).UTC()}
	if in.CSV {
		l.CSVAllowed = 1
	}
	if err := write(ctx, db, l); err != nil {
		return "", Link{}, err
	}
	err = audit.Write(ctx, db, audit.Entry{Time: now, Actor: in.By, Action: "share_add", Target: l.Site, Detail: describe(l)})
	return token, l, err
}

// describe is a link's line in the audit log: never its token or password.
func describe(l Link) string {
	parts := []string{fmt.Sprintf("link %s %q", l.ID, l.Name)}
	if l.HasPassword() {
		parts = append(parts, "password")
	}
	if l.Expiring() {
		parts = append(parts, "expires "+l.Expires.UTC().Format(time.RFC3339))
	}
	if l.CSV() {
		parts = append(parts, "csv")
	}
	if len(l.EmbedOrigins) > 0 {
		parts = append(parts, "embed "+strings.Join(l.EmbedOrigins, " "))
	}
	return strings.Join(parts, "; ")
}

// List returns the site's links that are not revoked (expired ones too: Active tells),
// newest first.
func List(ctx context.Context, db store.Store, site string) ([]Link, error) {
	return read(ctx, db, "site = ?", "HAVING revoked = 0 ORDER BY created DESC, id", site)
}

// ListActive returns the site's links that work now (not revoked, not expired), each
// with the origins allowed to frame it: whether, and how, the site's figures are
// shared outside the agency.
func ListActive(ctx context.Context, db store.Store, site string, now time.Time) ([]Link, error) {
	all, err := List(ctx, db, site)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, l := range all {
		if l.Active(now) {
			out = append(out, l)
		}
	}
	return out, nil
}

func read(ctx context.Context, db store.Store, where, having string, args ...any) ([]Link, error) {
	var rows []Link
	if err := db.Select(ctx, &rows, fmt.Sprintf(linksOf, where, having), args...); err != nil {
		return nil, fmt.Errorf("read shared links: %w", err)
	}
	return rows, nil
}

// Revoke ends the site's link id for good. An unknown or already revoked link
// answers ErrNotFound.
func Revoke(ctx context.Context, db store.Store, site, id, by string, now time.Time) error {
	rows, err := read(ctx, db, "site = ? AND id = ?", "HAVING revoked = 0", site, id)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("link %q of %s: %w", id, site, ErrNotFound)
	}
	l := rows[0]
	l.Revoked = 1
	if err := write(ctx, db, l); err != nil {
		return err
	}
	return audit.Write(ctx, db, audit.Entry{Time: now, Actor: by, Action: "share_revoke", Target: site,
		Detail: fmt.Sprintf("link %s %q", l.ID, l.Name)})
}

// Resolve returns the link a presented token opens at now. A token that never
// existed, a revoked link and an expired one all answer ErrNotFound.
func Resolve(ctx context.Context, db store.Store, token string, now time.Time) (Link, error) {
	if !wellFormed(token) {
		return Link{}, ErrNotFound
	}
	rows, err := read(ctx, db, "token_hash = ?", "", hashToken(token))
	if err != nil {
		return Link{}, err
	}
	if len(rows) != 1 || !rows[0].Active(now) {
		return Link{}, ErrNotFound
	}
	return rows[0], nil
}

// Touch records that l was used at now, at most once a minute per link.
func Touch(ctx context.Context, db store.Store, l Link, now time.Time) error {
	now = now.UTC().Truncate(time.Second)
	if now.Sub(l.LastUsed) < touchEvery {
		return nil
	}
	l.LastUsed = now
	return write(ctx, db, l)
}

// tokenLen is the length of a token: 32 random bytes, base64url without padding.
const tokenLen = 43

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than returning short)
	return base64.RawURLEncoding.EncodeToString(b)
}

func wellFormed(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}

// hashToken is how tokens are stored: SHA-256 suffices (no salt, no stretching)
// because tokens are 256 random bits.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// newID names a link in lists, URLs of the staff pages and the audit log; it reveals
// nothing of the token.
func newID() string { return strings.ToLower(rand.Text()[:12]) }

// latestExpiry keeps expiries inside ClickHouse's DateTime range (to 2106).
var latestExpiry = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

func epochIfZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

// ParseExpiry reads an expiry date, YYYY-MM-DD: the link works through that day (UTC)
// and stops at the midnight after it. "" is no expiry (the zero time).
func ParseExpiry(raw string) (time.Time, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, raw)
	if err != nil {
		return time.Time{}, invalidf("expiry must be a date, YYYY-MM-DD")
	}
	return d.AddDate(0, 0, 1), nil
}

// originPattern is what an embedding origin may look like: a scheme and a host (a
// name or a bracketed IPv6 address) with an optional port; nothing else can reach the
// Content-Security-Policy header it is written into.
var originPattern = regexp.MustCompile(`^https?://([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$`)

// ParseOrigin normalises an origin allowed to frame a link, e.g.
// https://intranet.client.example or http://localhost:8081 (a trailing / is dropped).
func ParseOrigin(raw string) (string, error) {
	o := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), "/")
	if !originPattern.MatchString(o) {
		return "", invalidf("%q is not an origin: give scheme and host, e.g. https://intranet.example.com", raw)
	}
	return o, nil
}

// ParseOrigins normalises each origin, dropping blanks and repeats.
func ParseOrigins(raw []string) ([]string, error) {
	out := []string{}
	for _, r := range raw {
		if strings.TrimSpace(r) == "" {
			continue
		}
		o, err := ParseOrigin(r)
		if err != nil {
			return nil, err
		}
		if !contains(out, o) {
			out = append(out, o)
		}
	}
	if len(out) > MaxOrigins {
		return nil, invalidf("at most %d embedding origins per link", MaxOrigins)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// settingsVersion orders setting rows written by this process even within one tick.
var settingsVersion atomic.Uint64

func nextVersion() uint64 {
	for {
		last := settingsVersion.Load()
		v := max(uint64(time.Now().UnixNano()), last+1)
		if settingsVersion.CompareAndSwap(last, v) {
			return v
		}
	}
}

// ManagersMayShare reports whether the site's client managers may create and revoke
// its links (admins always may). Off until an admin turns it on.
func ManagersMayShare(ctx context.Context, db store.Store, site string) (bool, error) {
	var rows []struct {
		Allowed uint8 `ch:"allowed"`
	}
	err := db.Select(ctx, &rows, `SELECT argMax(managers_may_share, version) AS allowed FROM share_settings
		WHERE site = ? GROUP BY site`, site)
	if err != nil {
		return false, fmt.Errorf("read share settings: %w", err)
	}
	return len(rows) == 1 && rows[0].Allowed == 1, nil
}

// SetManagersMayShare changes the setting, recorded in the audit log as done by by.
func SetManagersMayShare(ctx context.Context, db store.Store, site string, allowed bool, by string) error {
	var v uint8
	if allowed {
		v = 1
	}
	err := db.Insert(ctx, "share_settings", []string{"site", "managers_may_share", "version"},
		[][]any{{site, v, nextVersion()}})
	if err != nil {
		return fmt.Errorf("write share settings: %w", err)
	}
	return audit.Write(ctx, db, audit.Entry{Actor: by, Action: "share_settings", Target: site,
		Detail: fmt.Sprintf("managers may share: %t", allowed)})
}
