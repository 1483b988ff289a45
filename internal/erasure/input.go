package erasure

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/websystems/loendur/internal/privacy"
	"github.com/websystems/loendur/internal/sites"
)

// MaxIDs bounds the ids of one selector.
const MaxIDs = 1000

// SelectorInput is a selector as a person gives it. The command line's flags, the
// Data requests form and the JSON API fill these same named fields, and ParseSelector
// is the one place that reads them.
type SelectorInput struct {
	Site string   `json:"site"`
	Kind string   `json:"kind"` // visitor, session, event or ip
	IDs  []string `json:"ids"`  // visitor, session or event ids; each may hold several, separated by commas or spaces
	IP   string   `json:"ip"`   // full or truncated; truncated as ingestion does
	From string   `json:"from"` // RFC 3339, YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)
	To   string   `json:"to"`   // inclusive; a bare date is the whole day
	Page string   `json:"page"` // pathname pattern, * matches anything
}

// InputError is a mistake in a SelectorInput, for the person to fix: the field, named
// as in SelectorInput's JSON, the form and the flags, and what is wrong with it.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Message }

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// OfKind is the input with only the fields its Kind reads: for a form that shows the
// fields of every kind at once, where the others may hold what was typed before.
func (in SelectorInput) OfKind() SelectorInput {
	out := SelectorInput{Site: in.Site, Kind: in.Kind}
	if Kind(strings.TrimSpace(in.Kind)) == KindIP {
		out.IP, out.From, out.To, out.Page = in.IP, in.From, in.To, in.Page
	} else {
		out.IDs = in.IDs
	}
	return out
}

// ParseSelector turns what a person gave into a validated selector: the site's domain
// normalized, ids parsed and deduplicated, an address truncated with tr (zero: the
// default prefixes) as ingestion truncates it, the time window read. A field that does
// not go with the kind is a mistake, not ignored. Errors are *InputError.
func ParseSelector(in SelectorInput, tr privacy.Truncator) (Selector, error) {
	site := strings.TrimSpace(in.Site)
	if site == "" {
		return Selector{}, inputErr("site", "choose a site (its domain, such as example.com)")
	}
	domain, err := sites.NormalizeDomain(site)
	if err != nil {
		return Selector{}, inputErr("site", "site %q is not a domain such as example.com", site)
	}
	sel := Selector{Site: domain, Kind: Kind(strings.TrimSpace(in.Kind))}
	ids := splitIDs(in.IDs)
	switch sel.Kind {
	case KindVisitor, KindSession, KindEvent:
		if in.IP != "" || in.From != "" || in.To != "" || in.Page != "" {
			return sel, inputErr(firstSet(in), "ip, from, to and page go with an address (kind ip), not with %s ids", sel.Kind)
		}
		err = parseIDs(&sel, ids)
	case KindIP:
		if len(ids) > 0 {
			return sel, inputErr("ids", "ids go with kind visitor, session or event, not with an address")
		}
		err = parseWindow(&sel, in, tr)
	default:
		return sel, inputErr("kind", "choose what identifies the person: visitor ids, session ids, event ids, or an address with a time window")
	}
	if err != nil {
		return sel, err
	}
	if err := sel.Validate(); err != nil {
		return sel, inputErr("kind", "%s", strings.TrimPrefix(err.Error(), "erasure: "))
	}
	return sel, nil
}

// firstSet names the first address field set, for the error about it.
func firstSet(in SelectorInput) string {
	for _, f := range []struct{ name, v string }{{"ip", in.IP}, {"from", in.From}, {"to", in.To}, {"page", in.Page}} {
		if f.v != "" {
			return f.name
		}
	}
	return "ip"
}

// splitIDs splits each entry on commas, semicolons and white space and drops empties.
func splitIDs(entries []string) []string {
	var ids []string
	for _, e := range entries {
		ids = append(ids, strings.FieldsFunc(e, func(r rune) bool {
			return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
		})...)
	}
	return ids
}

func parseIDs(sel *Selector, ids []string) error {
	if len(ids) == 0 {
		return inputErr("ids", "give one or more %s ids", sel.Kind)
	}
	if len(ids) > MaxIDs {
		return inputErr("ids", "at most %d ids per request", MaxIDs)
	}
	for _, id := range ids {
		switch sel.Kind {
		case KindEvent:
			u, err := uuid.Parse(id)
			if err != nil {
				return inputErr("ids", "event ids are UUIDs such as 0190a5c2-7b1e-7c3a-9f2d-3b5e8c1d2a4f; %q is not", id)
			}
			if !slices.Contains(sel.Events, u) {
				sel.Events = append(sel.Events, u)
			}
		default:
			n, err := strconv.ParseUint(id, 10, 64)
			if err != nil {
				return inputErr("ids", "%s ids are decimal numbers, as /api/me shows them; %q is not", sel.Kind, id)
			}
			nums := &sel.Visitors
			if sel.Kind == KindSession {
				nums = &sel.Sessions
			}
			if !slices.Contains(*nums, n) {
				*nums = append(*nums, n)
			}
		}
	}
	return nil
}

func parseWindow(sel *Selector, in SelectorInput, tr privacy.Truncator) error {
	if strings.TrimSpace(in.IP) == "" {
		return inputErr("ip", "give the address, full or truncated")
	}
	var err error
	if sel.IP, err = TruncateIP(in.IP, tr); err != nil {
		return inputErr("ip", "%q is not an IPv4 or IPv6 address", strings.TrimSpace(in.IP))
	}
	if strings.TrimSpace(in.From) == "" {
		return inputErr("from", "an address needs a time window: from and to")
	}
	if strings.TrimSpace(in.To) == "" {
		return inputErr("to", "an address needs a time window: from and to")
	}
	if sel.From, err = ParseTime(in.From, false); err != nil {
		return inputErr("from", "from: %v", err)
	}
	if sel.To, err = ParseTime(in.To, true); err != nil {
		return inputErr("to", "to: %v", err)
	}
	if sel.To.Before(sel.From) {
		return inputErr("to", "the time window ends before it starts")
	}
	sel.Page = strings.TrimSpace(in.Page)
	return nil
}

// Input is the inverse of ParseSelector: the fields that name exactly this selector,
// so a form can carry a previewed selector into its export and erase steps.
func (s Selector) Input() SelectorInput {
	in := SelectorInput{Site: s.Site, Kind: string(s.Kind), IP: s.IP, Page: s.Page}
	for _, n := range s.Visitors {
		in.IDs = append(in.IDs, strconv.FormatUint(n, 10))
	}
	for _, n := range s.Sessions {
		in.IDs = append(in.IDs, strconv.FormatUint(n, 10))
	}
	for _, id := range s.Events {
		in.IDs = append(in.IDs, id.String())
	}
	if s.Kind == KindIP {
		in.From, in.To = s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339)
	}
	return in
}

// ParseTime reads RFC 3339, YYYY-MM-DD, or a browser's datetime-local value
// (YYYY-MM-DDTHH:MM), all UTC unless RFC 3339 says otherwise. As the end of a window
// (endOfDay), a bare date means the whole day and a minute the whole minute.
func ParseTime(s string, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC().Truncate(time.Second), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			if endOfDay {
				t = t.Add(time.Minute - time.Second)
			}
			return t, nil
		}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: use RFC 3339 (2026-01-31T12:00:00Z), YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)", s)
	}
	if endOfDay {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t, nil
}

// TruncateIP takes a full or already truncated address and truncates it the way
// ingestion does, so it matches the stored form.
func TruncateIP(s string, tr privacy.Truncator) (string, error) {
	addr, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("address %q: %w", s, err)
	}
	if tr == (privacy.Truncator{}) {
		tr = privacy.Truncator{V4Bits: privacy.DefaultV4Bits, V6Bits: privacy.DefaultV6Bits}
	}
	return tr.Truncate(addr).String(), nil
}
