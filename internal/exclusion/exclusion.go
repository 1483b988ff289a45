// Package exclusion owns the traffic an admin excludes from a site's figures: user-agent
// fragments (their uptime monitor, an in-house crawler) and client addresses or CIDRs
// (the client's office). The collector asks Set.Excluded with the full address, before
// it is truncated, and drops what matches (counted as reason "excluded"); the dashboard
// and `loendur sites exclude` edit the lists through Save.
//
// The lists are configuration, stored as the admin typed them (an address an admin
// enters is theirs to enter); the address of an excluded visitor is never written
// anywhere: the collector only counts the drop.
package exclusion

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/websystems/loendur/internal/periodic"
	"github.com/websystems/loendur/internal/store"
)

// Limits on one site's lists.
const (
	MaxEntries      = 200
	MaxUserAgentLen = 200
)

// Table holds the lists (schema/0060_site_exclusions.sql).
const Table = "site_exclusions"

// RefreshInterval is how often Run reloads, so an edit made by another process (another
// collector's dashboard, the command line) reaches this collector.
const RefreshInterval = 30 * time.Second

// Rules are one site's exclusions, as entered.
type Rules struct {
	// UserAgents are fragments matched case-insensitively anywhere in the User-Agent.
	UserAgents []string `json:"user_agents"`
	// Addresses are IPv4 or IPv6 addresses or CIDRs (203.0.113.0/24, 2001:db8::/48).
	Addresses []string `json:"addresses"`
}

// Error is a rule an admin must fix; its message names the entry.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func invalid(format string, args ...any) error { return &Error{fmt.Sprintf(format, args...)} }

// Normalize trims every entry, drops empty ones and repeats, and checks the rest: a
// user-agent fragment is printable text of at most MaxUserAgentLen bytes, an address
// parses as an address or a CIDR. The addresses keep their spelling (a CIDR is not
// rewritten to its network), so the admin finds what they typed.
func Normalize(r Rules) (Rules, error) {
	var out Rules
	for _, ua := range r.UserAgents {
		ua = strings.TrimSpace(ua)
		switch {
		case ua == "" || slices.Contains(out.UserAgents, ua):
			continue
		case len(ua) > MaxUserAgentLen || !printable(ua):
			return Rules{}, invalid("user-agent pattern %q: use printable text of at most %d bytes", clip(ua), MaxUserAgentLen)
		}
		out.UserAgents = append(out.UserAgents, ua)
	}
	for _, a := range r.Addresses {
		a = strings.TrimSpace(a)
		if a == "" || slices.Contains(out.Addresses, a) {
			continue
		}
		if _, err := parsePrefix(a); err != nil {
			return Rules{}, invalid("address %q: use an address or a CIDR such as 203.0.113.7, 203.0.113.0/24 or 2001:db8::/48", clip(a))
		}
		out.Addresses = append(out.Addresses, a)
	}
	if n := len(out.UserAgents) + len(out.Addresses); n > MaxEntries {
		return Rules{}, invalid("%d exclusions: at most %d per site", n, MaxEntries)
	}
	return out, nil
}

// SplitList turns a text field (one entry a line, or comma-separated) into entries.
func SplitList(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// clip shortens an entry quoted in an error.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// compiled is one site's rules, ready for the hot path.
type compiled struct {
	rules      Rules
	userAgents []string // lower-cased
	prefixes   []netip.Prefix
}

func compile(r Rules) *compiled {
	c := &compiled{rules: r}
	for _, ua := range r.UserAgents {
		c.userAgents = append(c.userAgents, strings.ToLower(ua))
	}
	for _, a := range r.Addresses {
		if p, err := parsePrefix(a); err == nil {
			c.prefixes = append(c.prefixes, p)
		}
	}
	return c
}

// Set is every site's rules, held in memory and kept in step with the database. It is
// safe for concurrent use.
type Set struct {
	db    store.Store
	log   *slog.Logger
	sites atomic.Pointer[map[string]*compiled]
}

// NewSet returns an empty set; Load fills it.
func NewSet(db store.Store, log *slog.Logger) *Set {
	s := &Set{db: db, log: log}
	s.sites.Store(&map[string]*compiled{})
	return s
}

// Excluded reports whether an event of site from the full address ip with user agent
// ua is excluded by the site's rules. Sites without rules cost one map look-up.
func (s *Set) Excluded(site string, ip netip.Addr, ua string) bool {
	c := (*s.sites.Load())[site]
	if c == nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range c.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	if len(c.userAgents) > 0 {
		folded := strings.ToLower(ua)
		for _, f := range c.userAgents {
			if strings.Contains(folded, f) {
				return true
			}
		}
	}
	return false
}

// Rules returns site's rules as stored (empty lists when none).
func (s *Set) Rules(site string) Rules {
	if c := (*s.sites.Load())[site]; c != nil {
		return c.rules
	}
	return Rules{UserAgents: []string{}, Addresses: []string{}}
}

// Load replaces the in-memory copy with what the database holds.
func (s *Set) Load(ctx context.Context) error {
	var rows []struct {
		Site       string   `ch:"site"`
		UserAgents []string `ch:"user_agents"`
		Addresses  []string `ch:"addresses"`
	}
	err := s.db.Select(ctx, &rows, `SELECT site, argMax(user_agents, version) AS user_agents,
		argMax(addresses, version) AS addresses FROM `+Table+` GROUP BY site`)
	if err != nil {
		return fmt.Errorf("load exclusions: %w", err)
	}
	m := make(map[string]*compiled, len(rows))
	for _, r := range rows {
		if len(r.UserAgents)+len(r.Addresses) > 0 {
			m[r.Site] = compile(Rules{UserAgents: r.UserAgents, Addresses: r.Addresses})
		}
	}
	s.sites.Store(&m)
	return nil
}

// Run reloads the set every RefreshInterval until ctx ends.
func (s *Set) Run(ctx context.Context) {
	periodic.Run(ctx, RefreshInterval, s.log, "reload exclusions", s.Load)
}

// Save checks r (see Normalize), stores it as site's lists, replacing the previous ones,
// and reloads the set so this process applies it at once. by names who made the change.
func (s *Set) Save(ctx context.Context, site string, r Rules, by string, now time.Time) (Rules, error) {
	r, err := Normalize(r)
	if err != nil {
		return Rules{}, err
	}
	if r.UserAgents == nil {
		r.UserAgents = []string{}
	}
	if r.Addresses == nil {
		r.Addresses = []string{}
	}
	row := []any{site, r.UserAgents, r.Addresses, now.UTC().Truncate(time.Second), by, uint64(time.Now().UnixNano())}
	if err := s.db.Insert(ctx, Table, []string{"site", "user_agents", "addresses", "updated", "updated_by", "version"}, [][]any{row}); err != nil {
		return Rules{}, fmt.Errorf("save exclusions of %s: %w", site, err)
	}
	return r, s.Load(ctx)
}
