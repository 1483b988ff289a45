package notice

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/sites"
	"github.com/websystems/loendur/internal/store"
)

// The parts of the facts that other features own come through these listers; a nil
// lister means the feature has nothing (shared links, e-mail reports and imports are
// wired by cmd/loendur once they exist).
type (
	// SharedLinks lists the links to a site's reports that are in force.
	SharedLinks interface {
		SharedLinks(ctx context.Context, site string) ([]SharedLink, error)
	}
	// Recipients lists the e-mail addresses that receive a site's reports.
	Recipients interface {
		Recipients(ctx context.Context, site string) ([]string, error)
	}
	// RawImports lists the imports of raw events into a site that are kept.
	RawImports interface {
		RawImports(ctx context.Context, site string) ([]RawImport, error)
	}
	// Readers lists the accounts that may read a site's reports.
	Readers interface {
		Readers(ctx context.Context, site string) ([]Reader, error)
	}
)

// Sources are where Gather finds the facts.
type Sources struct {
	DB store.Store
	// Truncator is what ingestion keeps of an address (the process's --ipv4-prefix
	// and --ipv6-prefix).
	Truncator privacy.Truncator
	Agency    Agency
	BaseURL   string
	Readers   Readers
	Links     SharedLinks
	Mail      Recipients
	Imports   RawImports
	Now       func() time.Time // nil: time.Now
}

// Gather collects the facts of site from its settings, its stored events and the
// listers.
func Gather(ctx context.Context, src Sources, site sites.Site) (Facts, error) {
	if src.Now == nil {
		src.Now = time.Now
	}
	f := Facts{
		Site: site.Domain, RetentionMonths: int(site.RetentionMonths), HonourDNT: site.HonourDNT == 1,
		IPv4Prefix: src.Truncator.V4Bits, IPv6Prefix: src.Truncator.V6Bits,
		VisitorIDPerSite: visitorIDPerSite(), Agency: src.Agency, BaseURL: strings.TrimRight(src.BaseURL, "/"),
	}
	var err error
	if f.Settings, err = LoadSettings(ctx, src.DB, site.Domain); err != nil {
		return f, err
	}
	if f.Stored, err = storedFacts(ctx, src.DB, site.Domain, src.Now()); err != nil {
		return f, err
	}
	if f.Properties, err = propertiesInUse(ctx, src.DB, site.Domain); err != nil {
		return f, err
	}
	if src.Readers != nil {
		if f.Readers, err = src.Readers.Readers(ctx, site.Domain); err != nil {
			return f, fmt.Errorf("readers of %s: %w", site.Domain, err)
		}
		f.ReaderCounts.Managers = len(f.Managers())
		f.ReaderCounts.Admins = len(f.Readers) - f.ReaderCounts.Managers
	}
	if src.Links != nil {
		if f.SharedLinks, err = src.Links.SharedLinks(ctx, site.Domain); err != nil {
			return f, fmt.Errorf("shared links of %s: %w", site.Domain, err)
		}
	}
	if src.Mail != nil {
		if f.Recipients, err = src.Mail.Recipients(ctx, site.Domain); err != nil {
			return f, fmt.Errorf("report recipients of %s: %w", site.Domain, err)
		}
	}
	if src.Imports != nil {
		if f.Imports, err = src.Imports.RawImports(ctx, site.Domain); err != nil {
			return f, fmt.Errorf("imports of %s: %w", site.Domain, err)
		}
	}
	return f, nil
}

// visitorIDPerSite probes internal/privacy: one browser under one salt must get
// different ids on two sites, or ids would link visits across sites.
func visitorIDPerSite() bool {
	salt := make([]byte, privacy.SaltSize)
	ip := netip.MustParseAddr("192.0.2.1")
	return privacy.VisitorID(salt, "a.example", ip, "UA") != privacy.VisitorID(salt, "b.example", ip, "UA")
}

// storedSQL counts the recent events of a site, those whose stored address keeps more
// bits than the exemption allows, and those with a location. Addresses are matched as
// text, as ingestion writes them (netip's canonical form): a parse function would fail
// the whole query on one malformed imported value in chDB. An address counts as finer
// unless only its first MaxIPv4Bits/8 octets (IPv4) or MaxIPv6Bits/16 groups (IPv6)
// may be non-zero, so a non-canonical address counts as finer too. Each distinct
// address is matched once (grouped first): over 10 million events of a month that took
// a third of the time of matching every row.
const storedSQL = `SELECT sum(n) AS events,
	sumIf(n, ip != '' AND position(ip, ':') = 0 AND NOT match(ip, ?)) AS finer4,
	sumIf(n, position(ip, ':') > 0 AND NOT match(ip, ?)) AS finer6,
	sum(located) AS located
	FROM (SELECT ip, count() AS n, countIf(country_code != '') AS located
		FROM events WHERE site = ? AND timestamp >= ? GROUP BY ip)`

// Addresses no finer than the limits: 203.0.0.0, and 2001:db8:1:: (or shorter).
var (
	coarseIPv4 = `^[0-9]{1,3}` + strings.Repeat(`\.[0-9]{1,3}`, MaxIPv4Bits/8-1) + strings.Repeat(`\.0`, 4-MaxIPv4Bits/8) + `$`
	coarseIPv6 = fmt.Sprintf(`^([0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,%d})?::$`, MaxIPv6Bits/16-1)
)

func storedFacts(ctx context.Context, db store.Store, site string, now time.Time) (Stored, error) {
	var rows []struct {
		Events  uint64 `ch:"events"`
		Finer4  uint64 `ch:"finer4"`
		Finer6  uint64 `ch:"finer6"`
		Located uint64 `ch:"located"`
	}
	from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -StoredWindowDays)
	if err := db.Select(ctx, &rows, storedSQL, coarseIPv4, coarseIPv6, site, from); err != nil {
		return Stored{}, fmt.Errorf("read stored addresses of %s: %w", site, err)
	}
	if len(rows) == 0 {
		return Stored{}, nil
	}
	r := rows[0]
	return Stored{Events: int64(r.Events), FinerIPv4: int64(r.Finer4), FinerIPv6: int64(r.Finer6), WithLocation: int64(r.Located)}, nil
}

// Value shapes that suggest personal data (RE2, as ClickHouse's match reads them).
const (
	emailPattern = `[^@\s]+@[^@\s]+\.[A-Za-z]{2,}`
	phonePattern = `^\+?[0-9][0-9 ()./-]{6,}[0-9]$`
	ipPattern    = `^[0-9]{1,3}(\.[0-9]{1,3}){3}$|^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}$`
)

// propertiesSQL reads the custom properties of a site from the daily event rollup
// (which holds every day the site keeps), with counts of values of suspicious shape.
const propertiesSQL = `SELECT prop_key AS key, toUInt64(sum(events)) AS events, toUInt64(uniqExact(prop_value)) AS n_values,
	countIf(match(prop_value, ?)) AS emails, countIf(match(prop_value, ?)) AS phones, countIf(match(prop_value, ?)) AS ips
	FROM event_stats_daily WHERE site = ? AND prop_key != '' GROUP BY key ORDER BY key`

func propertiesInUse(ctx context.Context, db store.Store, site string) ([]Property, error) {
	var rows []struct {
		Key    string `ch:"key"`
		Events uint64 `ch:"events"`
		Values uint64 `ch:"n_values"`
		Emails uint64 `ch:"emails"`
		Phones uint64 `ch:"phones"`
		IPs    uint64 `ch:"ips"`
	}
	if err := db.Select(ctx, &rows, propertiesSQL, emailPattern, phonePattern, ipPattern, site); err != nil {
		return nil, fmt.Errorf("read custom properties of %s: %w", site, err)
	}
	out := make([]Property, 0, len(rows))
	for _, r := range rows {
		p := Property{Key: r.Key, Events: int64(r.Events), Values: int64(r.Values)}
		var risks []string
		if w := personalWord(r.Key); w != "" {
			risks = append(risks, fmt.Sprintf("its name contains %q", w))
		}
		if r.Emails > 0 {
			risks = append(risks, "values look like e-mail addresses")
		}
		if r.Phones > 0 {
			risks = append(risks, "values look like phone numbers or long numeric ids")
		}
		if r.IPs > 0 {
			risks = append(risks, "values look like IP addresses")
		}
		if r.Values >= nearlyUniqueMin && r.Values*10 >= r.Events*9 {
			risks = append(risks, fmt.Sprintf("%d different values in %d events: nearly one per event, like a per-person id", r.Values, r.Events))
		}
		p.Risk = strings.Join(risks, "; ")
		out = append(out, p)
	}
	return out, nil
}

// nearlyUniqueMin is how many distinct values a property needs before "a value per
// event" is read as an identifier rather than a small sample.
const nearlyUniqueMin = 50

// personalWords are words in a property's name that suggest it names or reaches a
// person (English and Estonian).
var personalWords = []string{
	"email", "mail", "name", "firstname", "lastname", "surname", "fullname", "phone", "tel", "telephone", "mobile",
	"address", "street", "postcode", "zip", "ip", "user", "userid", "username", "login", "customer", "client",
	"account", "member", "person", "visitor", "session", "ssn", "birthday", "birthdate", "dob", "iban", "card",
	"order", "token", "nimi", "eesnimi", "perenimi", "aadress", "telefon", "isikukood", "kasutaja", "klient",
}

var wordSplit = regexp.MustCompile(`[^A-Za-z0-9]+|([a-z0-9])([A-Z])`)

// personalWord returns the first word of key (split at punctuation and camelCase) that
// is in personalWords, or "".
func personalWord(key string) string {
	spaced := wordSplit.ReplaceAllString(key, "$1 $2")
	for _, w := range strings.Fields(strings.ToLower(spaced)) {
		if slices.Contains(personalWords, w) {
			return w
		}
	}
	return ""
}
