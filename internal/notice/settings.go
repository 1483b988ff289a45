package notice

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/store"
)

// Settings are a site's own privacy choices (table site_privacy).
type Settings struct {
	// ConsentRequired: the site asks consent before counting; the tracker snippet then
	// carries data-consent="required" and the notice asks for consent.
	ConsentRequired bool `json:"consent_required"`
	// PrivacyPage is the page of the site that shows the notice and its opt-out
	// control, as staff recorded it; "" when none is recorded.
	PrivacyPage string `json:"privacy_page"`
}

// ErrInvalid wraps a setting that cannot be stored; its message says what to fix.
type ErrInvalid struct{ Message string }

func (e *ErrInvalid) Error() string { return e.Message }

// NormalizePrivacyPage checks that raw is an http(s) address of a page of site (or
// of one of its subdomains) and returns it cleaned; "" stays "".
func NormalizePrivacyPage(raw, site string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	host := ""
	if err == nil {
		host = strings.ToLower(u.Hostname())
	}
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || len(raw) > 2000 ||
		(host != site && !strings.HasSuffix(host, "."+site)) {
		return "", &ErrInvalid{Message: fmt.Sprintf("the privacy page must be an http(s) address of a page of %s, such as https://%s/privacy", site, site)}
	}
	u.Fragment = ""
	return u.String(), nil
}

// LoadSettings reads site's settings; a site without a row has the defaults (no
// consent mode, no privacy page recorded).
func LoadSettings(ctx context.Context, db store.Store, site string) (Settings, error) {
	var rows []struct {
		Consent uint8  `ch:"consent_required"`
		Page    string `ch:"privacy_page"`
	}
	err := db.Select(ctx, &rows, `SELECT argMax(consent_required, version) AS consent_required,
		argMax(privacy_page, version) AS privacy_page FROM site_privacy WHERE site = ? GROUP BY site`, site)
	if err != nil {
		return Settings{}, fmt.Errorf("read privacy settings of %s: %w", site, err)
	}
	if len(rows) == 0 {
		return Settings{}, nil
	}
	return Settings{ConsentRequired: rows[0].Consent == 1, PrivacyPage: rows[0].Page}, nil
}

// SaveSettings stores s as site's newest settings, after checking the privacy page.
func SaveSettings(ctx context.Context, db store.Store, site string, s Settings, now time.Time) (Settings, error) {
	page, err := NormalizePrivacyPage(s.PrivacyPage, site)
	if err != nil {
		return Settings{}, err
	}
	s.PrivacyPage = page
	consent := uint8(0)
	if s.ConsentRequired {
		consent = 1
	}
	// The version is the wall clock, as for sites: a test's fake clock may repeat.
	row := []any{site, consent, s.PrivacyPage, now.UTC().Truncate(time.Second), uint64(time.Now().UnixNano())}
	if err := db.Insert(ctx, "site_privacy", []string{"site", "consent_required", "privacy_page", "updated", "version"}, [][]any{row}); err != nil {
		return Settings{}, fmt.Errorf("save privacy settings of %s: %w", site, err)
	}
	return s, nil
}

// AllSettings reads the settings of every site that has any, by site.
func AllSettings(ctx context.Context, db store.Store) (map[string]Settings, error) {
	var rows []struct {
		Site    string `ch:"site"`
		Consent uint8  `ch:"consent_required"`
		Page    string `ch:"privacy_page"`
	}
	err := db.Select(ctx, &rows, `SELECT site, argMax(consent_required, version) AS consent_required,
		argMax(privacy_page, version) AS privacy_page FROM site_privacy GROUP BY site`)
	if err != nil {
		return nil, fmt.Errorf("read privacy settings: %w", err)
	}
	out := make(map[string]Settings, len(rows))
	for _, r := range rows {
		out[r.Site] = Settings{ConsentRequired: r.Consent == 1, PrivacyPage: r.Page}
	}
	return out, nil
}
