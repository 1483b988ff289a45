package reports

import (
	"sort"
	"strings"

	"github.com/websystems/loendur/internal/store/literal"
)

// Filter keys accepted in ?filters=key==value;key==value.
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

// Filter is one key==value condition. An empty value matches an empty field (e.g.
// source== selects direct visits).
type Filter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
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
		key, value, ok := strings.Cut(part, "==")
		key = strings.TrimSpace(key)
		if !ok {
			return nil, badRequest("filter %q: write key==value, several separated by ;", part)
		}
		if _, known := sessionColumn[key]; !known {
			return nil, badRequest("unknown filter %q: use one of %s", key, strings.Join(filterKeys(), ", "))
		}
		if len(value) > maxFilterValue {
			return nil, badRequest("filter %s: value longer than %d bytes", key, maxFilterValue)
		}
		if strings.Contains(value, "*") && !pathFilter(key) {
			return nil, badRequest("filter %s: * wildcards work for page, entry_page and exit_page only", key)
		}
		if pathFilter(key) && value != "" && !strings.HasPrefix(value, "/") && !strings.HasPrefix(value, "*") {
			return nil, badRequest("filter %s: a page is a path starting with /", key)
		}
		out = append(out, Filter{Key: key, Value: value})
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
		parts[i] = f.Key + "==" + f.Value
	}
	return strings.Join(parts, ";")
}

// Get returns the value of the first filter with key.
func (fs Filters) Get(key string) (string, bool) {
	for _, f := range fs {
		if f.Key == key {
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
			b.WriteString("arrayExists((n, p) -> n = 'pageview' AND " + matchPath("p", f.Value) + ", seq_names, seq_paths)")
		case FilterEvent:
			b.WriteString("has(seq_names, " + literal.Quote(f.Value) + ")")
		case FilterEntryPage, FilterExitPage:
			b.WriteString(matchPath(sessionColumn[f.Key], f.Value))
		default:
			b.WriteString(sessionColumn[f.Key] + " = " + literal.Quote(f.Value))
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
			b.WriteString(" AND " + matchPath("pathname", f.Value))
		case f.Key == FilterEvent && eventsMatchEvent:
			b.WriteString(" AND name = " + literal.Quote(f.Value))
		case eventColumn[f.Key] != "":
			b.WriteString(" AND " + eventColumn[f.Key] + " = " + literal.Quote(f.Value))
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
			b.WriteString(" AND " + matchPath(col, f.Value))
		}
	}
	return b.String()
}
