package reports

import (
	"sort"
	"strings"

	"github.com/websystems/loendur/internal/store/literal"
)

// Filter keys accepted in ?filters=key==value;key!=value;key~=value.
const (
	FilterPage        = "page"
	FilterEntryPage   = "entry_page"
	FilterExitPage    = "exit_page"
	FilterSource      = "source"
	FilterReferrer    = "referrer"
	FilterUTMSource   = "utm_source"
	FilterUTMMedium   = "utm_medium"
	FilterUTMCampaign = "utm_campaign"
	FilterCountry     = "country"
	FilterRegion      = "region"
	FilterCity        = "city"
	FilterDevice      = "device"
	FilterBrowser     = "browser"
	FilterOS          = "os"
	FilterEvent       = "event"

	maxFilters     = 10
	maxFilterValue = 512
)

// sessionColumn is the sessions column each filter key compares (page and event are
// matched against the session's sequence of page views and events instead).
var sessionColumn = map[string]string{
	FilterEntryPage:   "entry_page",
	FilterExitPage:    "exit_page",
	FilterSource:      "referrer_source",
	FilterReferrer:    "referrer_host",
	FilterUTMSource:   "utm_source",
	FilterUTMMedium:   "utm_medium",
	FilterUTMCampaign: "utm_campaign",
	FilterCountry:     "country_code",
	FilterRegion:      "region",
	FilterCity:        "city",
	FilterDevice:      "device",
	FilterBrowser:     "browser",
	FilterOS:          "os",
	FilterPage:        "",
	FilterEvent:       "",
}

// eventColumn is the events column of the filters that every event of a visit carries
// (a visitor's location and device do not change within a visit); the others are
// properties of the visit as a whole (its source, its entry and exit pages).
var eventColumn = map[string]string{
	FilterCountry: "country_code",
	FilterRegion:  "region",
	FilterCity:    "city",
	FilterDevice:  "device",
	FilterBrowser: "browser",
	FilterOS:      "os",
}

// pathFilter marks the keys whose value is a page path that may hold `*` wildcards.
func pathFilter(key string) bool {
	return key == FilterPage || key == FilterEntryPage || key == FilterExitPage
}

// Filter operators: how a filter compares its value. In the URL: key==value,
// key!=value, key~=value.
const (
	OpIs       = "is"       // equal (pages: `*` matches any part)
	OpIsNot    = "is_not"   // not equal; for page and event: visits that have none
	OpContains = "contains" // the value appears in the field, ignoring case
)

// opTokens are the operators as written in ?filters=.
var opTokens = []struct{ token, op string }{{"==", OpIs}, {"!=", OpIsNot}, {"~=", OpContains}}

// Filter is one condition. An empty value matches an empty field (e.g. source==
// selects direct visits).
type Filter struct {
	Key   string `json:"key"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

// token is the operator as written in the URL.
func (f Filter) token() string {
	for _, t := range opTokens {
		if t.op == f.Op {
			return t.token
		}
	}
	return "=="
}

// cond is the condition on column col (a value of the filter's kind): equality, a
// `*` pattern for pages, its negation, or a case-insensitive substring.
func (f Filter) cond(col string) string {
	switch f.Op {
	case OpContains:
		return "position(lowerUTF8(" + col + "), " + literal.Quote(strings.ToLower(f.Value)) + ") > 0"
	case OpIsNot:
		return "NOT (" + f.is(col) + ")"
	default:
		return f.is(col)
	}
}

func (f Filter) is(col string) string {
	if pathFilter(f.Key) {
		return matchPath(col, f.Value)
	}
	return col + " = " + literal.Quote(f.Value)
}

// cutOp splits "key<op>value" at its first operator.
func cutOp(part string) (key, op, value string, ok bool) {
	at := -1
	for _, t := range opTokens {
		if i := strings.Index(part, t.token); i >= 0 && (at < 0 || i < at) {
			at, op = i, t.op
		}
	}
	if at < 0 {
		return "", "", "", false
	}
	return part[:at], op, part[at+2:], true
}

// Filters are ANDed together.
type Filters []Filter

// ParseFilters reads "page==/pricing;country==EE".
func ParseFilters(s string) (Filters, error) {
	var out Filters
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		key, op, value, ok := cutOp(part)
		key = strings.TrimSpace(key)
		if !ok {
			return nil, badRequest("filter %q: write key==value (is), key!=value (is not) or key~=value (contains), several separated by ;", part)
		}
		if _, known := sessionColumn[key]; !known {
			return nil, badRequest("unknown filter %q: use one of %s", key, strings.Join(filterKeys(), ", "))
		}
		if len(value) > maxFilterValue {
			return nil, badRequest("filter %s: value longer than %d bytes", key, maxFilterValue)
		}
		if op == OpContains && (value == "" || strings.Contains(value, "*")) {
			return nil, badRequest("filter %s: contains takes some plain text (no *)", key)
		}
		if strings.Contains(value, "*") && !pathFilter(key) {
			return nil, badRequest("filter %s: * wildcards work for page, entry_page and exit_page only", key)
		}
		if pathFilter(key) && op != OpContains && value != "" && !strings.HasPrefix(value, "/") && !strings.HasPrefix(value, "*") {
			return nil, badRequest("filter %s: a page is a path starting with /", key)
		}
		out = append(out, Filter{Key: key, Op: op, Value: value})
	}
	if len(out) > maxFilters {
		return nil, badRequest("at most %d filters", maxFilters)
	}
	return out, nil
}

func filterKeys() []string {
	keys := make([]string, 0, len(sessionColumn))
	for k := range sessionColumn {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// String writes the filters back in their URL form.
func (fs Filters) String() string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Key + f.token() + f.Value
	}
	return strings.Join(parts, ";")
}

// Get returns the value of the first "is" filter with key.
func (fs Filters) Get(key string) (string, bool) {
	for _, f := range fs {
		if f.Key == key && f.Op == OpIs {
			return f.Value, true
		}
	}
	return "", false
}

// Without returns the filters other than key.
func (fs Filters) Without(key string) Filters {
	var out Filters
	for _, f := range fs {
		if f.Key != key {
			out = append(out, f)
		}
	}
	return out
}

// onlyPages says whether every filter is a page filter, which the page rollups can
// answer (their rows are keyed by page).
func (fs Filters) onlyPages() bool {
	for _, f := range fs {
		if f.Key != FilterPage {
			return false
		}
	}
	return true
}

// sessionWhere is " AND cond AND cond" over the columns of a session row.
func (fs Filters) sessionWhere() string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(" AND ")
		switch f.Key {
		case FilterPage:
			// is not: visits that viewed no such page.
			pos := f
			if f.Op == OpIsNot {
				pos.Op = OpIs
				b.WriteString("NOT ")
			}
			b.WriteString("arrayExists((n, p) -> n = 'pageview' AND " + pos.cond("p") + ", seq_names, seq_paths)")
		case FilterEvent:
			switch f.Op {
			case OpContains:
				b.WriteString("arrayExists(n -> n NOT IN ('pageview', 'engagement') AND " + f.cond("n") + ", seq_names)")
			case OpIsNot:
				b.WriteString("NOT has(seq_names, " + literal.Quote(f.Value) + ")")
			default:
				b.WriteString("has(seq_names, " + literal.Quote(f.Value) + ")")
			}
		default:
			b.WriteString(f.cond(sessionColumn[f.Key]))
		}
	}
	return b.String()
}

// split divides the filters for a report over events: those every event carries
// (page, location, device; and event when the report counts events themselves) become
// conditions on events columns; the rest select the visits the events belong to.
func (fs Filters) split(eventsMatchEvent bool) (direct string, visit Filters) {
	var b strings.Builder
	for _, f := range fs {
		switch {
		case f.Key == FilterPage:
			b.WriteString(" AND " + f.cond("pathname"))
		case f.Key == FilterEvent && eventsMatchEvent:
			b.WriteString(" AND " + f.cond("name"))
		case eventColumn[f.Key] != "":
			b.WriteString(" AND " + f.cond(eventColumn[f.Key]))
		default:
			visit = append(visit, f)
		}
	}
	return b.String(), visit
}

// pageWhere is " AND cond" per page filter, on the path column col.
func (fs Filters) pageWhere(col string) string {
	var b strings.Builder
	for _, f := range fs {
		if f.Key == FilterPage {
			b.WriteString(" AND " + f.cond(col))
		}
	}
	return b.String()
}
