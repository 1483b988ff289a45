// Package sites owns the registry of websites loendur counts: which domains exist and
// their settings. The collector asks it on every event, so lookups are served from an
// in-memory copy that is refreshed from ClickHouse.
package sites

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/websystems/loendur/internal/periodic"
	"github.com/websystems/loendur/internal/store"
	"golang.org/x/net/idna"
)

// Defaults for a new site.
const (
	DefaultTimezone        = "UTC"
	DefaultRetentionMonths = 25 // the CNIL's limit for exempt audience measurement
	RefreshInterval        = 30 * time.Second
)

// Site is one registered website.
type Site struct {
	Domain          string    `ch:"domain"`
	Created         time.Time `ch:"created"`
	Timezone        string    `ch:"timezone"`
	RetentionMonths uint16    `ch:"retention_months"`
	HonourDNT       uint8     `ch:"honour_dnt"`
	Deleted         uint8     `ch:"deleted"`
}

// Registry is the set of sites, read from memory and kept in step with ClickHouse.
type Registry struct {
	db    store.Store
	log   *slog.Logger
	sites atomic.Pointer[map[string]Site]
}

// NewRegistry returns an empty registry; call Load before serving.
func NewRegistry(db store.Store, log *slog.Logger) *Registry {
	r := &Registry{db: db, log: log}
	r.sites.Store(&map[string]Site{})
	return r
}

// Lookup finds a site by its normalised domain.
func (r *Registry) Lookup(domain string) (Site, bool) {
	s, ok := (*r.sites.Load())[domain]
	return s, ok
}

// Domains lists the registered domains.
func (r *Registry) Domains() []string {
	m := *r.sites.Load()
	out := make([]string, 0, len(m))
	for d := range m {
		out = append(out, d)
	}
	return out
}

// AllowsOrigin reports whether a browser Origin (scheme://host[:port]) is a page of a
// registered site or of one of its subdomains.
func (r *Registry) AllowsOrigin(origin string) bool { return r.AllowsOriginFor(origin, "") }

// AllowsOriginFor reports whether a browser Origin is a web page (http or https, any
// port) of the registered site domain or of one of its subdomains; with domain "" of
// any registered site. It is the one origin check of every cross-origin endpoint: the
// tracker script's CORS and the visitor's own /api/me and /api/forget.
func (r *Registry) AllowsOriginFor(origin, domain string) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return false // "null" (sandboxed frames, file: pages), extensions, garbage
	}
	host := strings.ToLower(u.Hostname())
	m := *r.sites.Load()
	for host != "" {
		if _, ok := m[host]; ok && (domain == "" || host == domain) {
			return true
		}
		_, host, _ = strings.Cut(host, ".")
	}
	return false
}

// Load replaces the in-memory copy with what ClickHouse holds.
func (r *Registry) Load(ctx context.Context) error {
	var rows []Site
	err := r.db.Select(ctx, &rows, `SELECT domain,
		argMax(created, version) AS created, argMax(timezone, version) AS timezone,
		argMax(retention_months, version) AS retention_months, argMax(honour_dnt, version) AS honour_dnt,
		argMax(deleted, version) AS deleted
		FROM sites GROUP BY domain`)
	if err != nil {
		return fmt.Errorf("load sites: %w", err)
	}
	m := make(map[string]Site, len(rows))
	for _, s := range rows {
		if s.Deleted == 0 {
			m[s.Domain] = s
		}
	}
	r.sites.Store(&m)
	return nil
}

// Run reloads the registry until ctx ends, so sites added elsewhere (another collector,
// the dashboard) are picked up.
func (r *Registry) Run(ctx context.Context) {
	periodic.Run(ctx, RefreshInterval, r.log, "reload sites", r.Load)
}

// Ensure registers each domain not yet registered, with default settings, and reloads.
func (r *Registry) Ensure(ctx context.Context, domains []string) (added []string, err error) {
	if err := r.Load(ctx); err != nil {
		return nil, err
	}
	var rows [][]any
	now := time.Now().UTC()
	for _, raw := range domains {
		d, err := NormalizeDomain(raw)
		if err != nil {
			return nil, err
		}
		if _, ok := r.Lookup(d); ok {
			continue
		}
		rows = append(rows, []any{d, now, DefaultTimezone, uint16(DefaultRetentionMonths), uint8(1), uint8(0), uint64(now.UnixNano())})
		added = append(added, d)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	if err := r.db.Insert(ctx, "sites", []string{"domain", "created", "timezone", "retention_months", "honour_dnt", "deleted", "version"}, rows); err != nil {
		return nil, fmt.Errorf("register sites: %w", err)
	}
	return added, r.Load(ctx)
}

var errDomain = errors.New("site domain must be a host name such as example.com (no scheme, path or port)")

// NormalizeDomain turns user input ("Example.COM", "https://www.example.com/") into the
// registry's form: lower-case ASCII host name without a trailing dot.
func NormalizeDomain(raw string) (string, error) {
	d := strings.TrimSpace(raw)
	if strings.Contains(d, "://") {
		u, err := url.Parse(d)
		if err != nil {
			return "", fmt.Errorf("site %q: %w", raw, errDomain)
		}
		d = u.Host
	}
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil || ascii == "" || len(ascii) > 253 || strings.ContainsAny(ascii, "/:?#@ ") {
		return "", fmt.Errorf("site %q: %w", raw, errDomain)
	}
	return ascii, nil
}
