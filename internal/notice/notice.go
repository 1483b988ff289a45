// Package notice owns what loendur tells about a site's privacy: the consent-exemption
// check (the conditions under which European regulators, as the CNIL lists them, let
// audience measurement run without a consent banner), and the privacy notice a site
// publishes for its visitors, in English and Estonian, as HTML and plain text. Both are
// computed from one Facts value, which Gather fills from the site's real settings and
// data, so the notice cannot say what the check does not know.
//
// The check is guidance for the agency, not legal advice.
package notice

import (
	"slices"
	"strings"
)

// The exemption's limits. Each is the strictest reading that loendur can enforce.
const (
	// MaxRetentionMonths: the CNIL keeps exempt audience measurement data at most 25
	// months.
	MaxRetentionMonths = 25
	// MaxIPv4Bits: at least the last two bytes of an IPv4 address removed, as the CNIL
	// asks of exempt tools (a /16 is shared by tens of thousands of addresses).
	MaxIPv4Bits = 16
	// MaxIPv6Bits: the routing prefix an ISP holds (/48) at most; the subnet and
	// interface bits after it can point to one household or one device.
	MaxIPv6Bits = 48
	// SaltHours is how long a daily salt lives (internal/salt deletes it 48 hours after
	// its day); afterwards a visitor id cannot be linked to an address and browser.
	SaltHours = 48
	// StoredWindowDays is how far back Gather reads stored events for the addresses and
	// the geolocation actually kept: the newest data tells what ingestion does now, and
	// a week of a large site reads in about a second (a month of 10 million events took
	// 3 to 5 seconds on a busy 2-core machine).
	StoredWindowDays = 7
)

// Facts are everything the check and the notice depend on, for one site.
type Facts struct {
	Site            string   `json:"site"`
	RetentionMonths int      `json:"retention_months"`
	HonourDNT       bool     `json:"honour_dnt"`
	Settings        Settings `json:"settings"`
	// IPv4Prefix and IPv6Prefix are the bits of an address ingestion keeps
	// (--ipv4-prefix, --ipv6-prefix).
	IPv4Prefix int `json:"ipv4_prefix"`
	IPv6Prefix int `json:"ipv6_prefix"`
	// Stored is what the events of the last StoredWindowDays actually hold.
	Stored Stored `json:"stored"`
	// VisitorIDPerSite: the visitor id of one browser differs between two sites under
	// one salt (probed from internal/privacy, not assumed).
	VisitorIDPerSite bool `json:"visitor_id_per_site"`
	// Properties are the custom properties the site's events carry.
	Properties []Property `json:"properties"`
	// Readers are the accounts that may read the site's reports. Their addresses stay
	// out of the JSON (a client manager need not learn the agency's staff addresses);
	// ReaderCounts says how many there are.
	Readers      []Reader     `json:"-"`
	ReaderCounts ReaderCounts `json:"readers"`
	Agency       Agency       `json:"agency"`
	// SharedLinks, Recipients and Imports come from their features' listers (none
	// until those are wired).
	SharedLinks []SharedLink `json:"shared_links"`
	Recipients  []string     `json:"recipients"`
	Imports     []RawImport  `json:"imports"`
	// BaseURL is the address the tracker and the visitor endpoints are served from,
	// e.g. https://stats.agency.example; "" when not known.
	BaseURL string `json:"base_url"`
}

// Stored is what recent events of the site hold.
type Stored struct {
	Events int64 `json:"events"`
	// FinerIPv4 and FinerIPv6 count stored addresses that keep more bits than
	// MaxIPv4Bits or MaxIPv6Bits: events written before truncation, or imported.
	FinerIPv4 int64 `json:"finer_ipv4"`
	FinerIPv6 int64 `json:"finer_ipv6"`
	// WithLocation counts events with a country: a GeoIP database is in use.
	WithLocation int64 `json:"with_location"`
}

// Property is one custom property key the site's events carry, and why it may carry
// personal data (Risk, "" when nothing suggests it).
type Property struct {
	Key    string `json:"key"`
	Events int64  `json:"events"`
	Values int64  `json:"values"`
	Risk   string `json:"risk,omitempty"`
}

// Reader is an account that may read the site: an agency admin or a client manager.
type Reader struct {
	Email string `json:"email"`
	Admin bool   `json:"admin"`
}

// ReaderCounts are how many admins and client managers may read a site.
type ReaderCounts struct {
	Admins   int `json:"admins"`
	Managers int `json:"managers"`
}

// Agency is who runs loendur: a name for the notice and the e-mail and web domains
// that belong to it. Together with the site's own domain they are "inside": anyone
// else who receives the site's statistics is someone the data is shared with.
type Agency struct {
	Name    string   `json:"name"`
	Domains []string `json:"domains"`
}

// SharedLink is a link to the site's reports. Audience is the e-mail address or
// domain it is limited to; "" when anyone holding the link can open it.
type SharedLink struct {
	Label    string `json:"label"`
	Audience string `json:"audience"`
}

// RawImport is an import of raw events into the site. Identifiers names the
// per-person fields it kept (e.g. GA4's user_pseudo_id); none when it kept none.
type RawImport struct {
	Source      string   `json:"source"`
	Events      int64    `json:"events"`
	Identifiers []string `json:"identifiers"`
}

// Inside reports whether an e-mail address or a domain belongs to the agency or to the
// site itself (a domain or any subdomain of one). Case does not matter.
func (f Facts) Inside(addressOrDomain string) bool {
	host := strings.ToLower(strings.TrimSpace(addressOrDomain))
	if _, after, ok := strings.Cut(host, "@"); ok {
		host = after
	}
	if host == "" {
		return false
	}
	for _, d := range append([]string{f.Site}, f.Agency.Domains...) {
		d = strings.ToLower(d)
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// Managers are the client managers among the readers (admins are the agency).
func (f Facts) Managers() []Reader {
	return slices.DeleteFunc(slices.Clone(f.Readers), func(r Reader) bool { return r.Admin })
}

// outside lists who outside the agency and the site receives the site's statistics:
// e-mail recipients, and shared links not limited to someone inside.
func (f Facts) outside() (recipients []string, links []SharedLink) {
	for _, r := range f.Recipients {
		if !f.Inside(r) {
			recipients = append(recipients, r)
		}
	}
	for _, l := range f.SharedLinks {
		if l.Audience == "" || !f.Inside(l.Audience) {
			links = append(links, l)
		}
	}
	return recipients, links
}

// riskyProperties are the properties whose key or values suggest personal data.
func (f Facts) riskyProperties() []Property {
	var out []Property
	for _, p := range f.Properties {
		if p.Risk != "" {
			out = append(out, p)
		}
	}
	return out
}

// identifyingImports are the raw imports that kept per-person identifiers.
func (f Facts) identifyingImports() []RawImport {
	var out []RawImport
	for _, im := range f.Imports {
		if len(im.Identifiers) > 0 {
			out = append(out, im)
		}
	}
	return out
}
