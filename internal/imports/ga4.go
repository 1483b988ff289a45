package imports

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"
	"github.com/websystems/loendur/internal/store"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// ga4Event is what loendur reads of one row of GA4's BigQuery export (the
// events_YYYYMMDD tables), from JSON or Parquet alike.
type ga4Event struct {
	Date        string // event_date, YYYYMMDD
	Micros      int64  // event_timestamp, Unix microseconds
	Name        string // event_name
	Params      []ga4Param
	PseudoID    string // user_pseudo_id: a device's id; hashed, never kept
	Category    string // device.category
	OS, OSVer   string // device.operating_system(_version)
	Browser     string // device.web_info.browser
	BrowserVer  string
	Country     string // geo.country: an English country name
	Region      string
	City        string
	TrafficSrc  string // traffic_source.source, .medium, .name (the user's first campaign)
	TrafficMed  string
	TrafficName string
}

type ga4Param struct {
	Key    string
	Str    string
	Int    int64
	HasInt bool
	Float  float64
}

func (e *ga4Event) param(key string) (ga4Param, bool) {
	for _, p := range e.Params {
		if p.Key == key {
			return p, true
		}
	}
	return ga4Param{}, false
}

func (p ga4Param) text() string {
	switch {
	case p.Str != "":
		return p.Str
	case p.HasInt:
		return strconv.FormatInt(p.Int, 10)
	case p.Float != 0:
		return strconv.FormatFloat(p.Float, 'f', -1, 64)
	}
	return ""
}

// ga4Columns are the top-level columns of GA4's export schema: any other is an error.
var ga4Columns = []string{"event_date", "event_timestamp", "event_name", "event_params", "event_previous_timestamp",
	"event_value_in_usd", "event_bundle_sequence_id", "event_server_timestamp_offset", "user_id", "user_pseudo_id",
	"privacy_info", "user_properties", "user_first_touch_timestamp", "user_ltv", "device", "geo", "app_info",
	"traffic_source", "stream_id", "platform", "event_dimensions", "ecommerce", "items", "collected_traffic_source",
	"is_active_user", "batch_event_index", "batch_page_id", "batch_ordering_id", "session_traffic_source_last_click",
	"publisher"}

// ga4Skipped are GA4's automatic events that mark a visit rather than record a hit.
var ga4Skipped = []string{"session_start", "first_visit", "scroll"}

// ga4Reserved are parameters GA4 sets itself: not custom properties.
var ga4Reserved = []string{"page_location", "page_referrer", "page_title", "ga_session_id", "ga_session_number",
	"engagement_time_msec", "session_engaged", "engaged_session_event", "entrances", "ignore_referrer",
	"batch_page_id", "batch_ordering_id", "percent_scrolled", "term", "medium", "source", "campaign", "content",
	"debug_mode", "synthetic_bundle", "link_url", "link_domain", "outbound", "file_extension", "file_name"}

type ga4JSONFormat struct{ path, name string }

func (g ga4JSONFormat) read(ctx context.Context, r *run, w *writer) (summary, error) {
	var sum summary
	rc, err := openText(g.path)
	if err != nil {
		return sum, err
	}
	defer rc.Close()
	r.parsers()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	var p fastjson.Parser
	var line int64
	var ev ga4Event
	for sc.Scan() {
		line++
		if line%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
		}
		text := sc.Bytes()
		if len(strings.TrimSpace(string(text))) == 0 {
			continue
		}
		v, err := p.ParseBytes(text)
		if err != nil {
			return sum, &Error{File: g.name, Line: line, Msg: "not a JSON object (" + err.Error() + "); a truncated file?"}
		}
		if col, err := ga4FromJSON(v, &ev); err != nil {
			return sum, &Error{File: g.name, Line: line, Column: col, Msg: err.Error()}
		}
		e, keep, col, err := r.ga4Event(&ev)
		if err != nil {
			return sum, &Error{File: g.name, Line: line, Column: col, Msg: err.Error()}
		}
		if !keep {
			continue
		}
		if err := r.take(ctx, w, &sum, e); err != nil {
			return sum, err
		}
	}
	if err := sc.Err(); err != nil {
		return sum, &Error{File: g.name, Line: line + 1, Msg: "cannot read: " + err.Error() + " (a truncated file?)"}
	}
	return sum, nil
}

// ga4FromJSON fills ev from one line; on error it names the column.
func ga4FromJSON(v *fastjson.Value, ev *ga4Event) (string, error) {
	obj, err := v.Object()
	if err != nil {
		return "", errors.New("not a JSON object")
	}
	var unknown string
	obj.Visit(func(k []byte, _ *fastjson.Value) {
		if unknown == "" && !slices.Contains(ga4Columns, string(k)) {
			unknown = string(k)
		}
	})
	if unknown != "" {
		return unknown, fmt.Errorf("unknown column %q: not in GA4's BigQuery export schema", unknown)
	}
	params := ev.Params[:0]
	*ev = ga4Event{Params: params}
	ev.Date = string(v.GetStringBytes("event_date"))
	ts := v.Get("event_timestamp")
	switch {
	case ts == nil:
		return "event_timestamp", errors.New("missing")
	case ts.Type() == fastjson.TypeString:
		if ev.Micros, err = strconv.ParseInt(string(ts.GetStringBytes()), 10, 64); err != nil {
			return "event_timestamp", fmt.Errorf("%q is not a number of microseconds", ts.GetStringBytes())
		}
	default:
		if ev.Micros, err = ts.Int64(); err != nil {
			return "event_timestamp", errors.New("not a number of microseconds")
		}
	}
	ev.Name = string(v.GetStringBytes("event_name"))
	ev.PseudoID = string(v.GetStringBytes("user_pseudo_id"))
	for _, p := range v.GetArray("event_params") {
		val := p.Get("value")
		param := ga4Param{Key: string(p.GetStringBytes("key")), Str: string(val.GetStringBytes("string_value"))}
		if iv := val.Get("int_value"); iv != nil && iv.Type() != fastjson.TypeNull {
			param.HasInt = true
			if iv.Type() == fastjson.TypeString {
				param.Int, err = strconv.ParseInt(string(iv.GetStringBytes()), 10, 64)
			} else {
				param.Int, err = iv.Int64()
			}
			if err != nil {
				return "event_params." + param.Key, errors.New("int_value is not an integer")
			}
		}
		for _, f := range []string{"double_value", "float_value"} {
			if fv := val.Get(f); fv != nil && fv.Type() == fastjson.TypeNumber {
				param.Float = fv.GetFloat64()
			}
		}
		ev.Params = append(ev.Params, param)
	}
	ev.Category = string(v.GetStringBytes("device", "category"))
	ev.OS = string(v.GetStringBytes("device", "operating_system"))
	ev.OSVer = string(v.GetStringBytes("device", "operating_system_version"))
	ev.Browser = string(v.GetStringBytes("device", "web_info", "browser"))
	ev.BrowserVer = string(v.GetStringBytes("device", "web_info", "browser_version"))
	ev.Country = string(v.GetStringBytes("geo", "country"))
	ev.Region = string(v.GetStringBytes("geo", "region"))
	ev.City = string(v.GetStringBytes("geo", "city"))
	ev.TrafficSrc = string(v.GetStringBytes("traffic_source", "source"))
	ev.TrafficMed = string(v.GetStringBytes("traffic_source", "medium"))
	ev.TrafficName = string(v.GetStringBytes("traffic_source", "name"))
	return "", nil
}

// ga4Event turns one row into an event under the rules of ingestion; keep is false
// for GA4's markers (session_start, first_visit, scroll). col names a bad column.
func (r *run) ga4Event(ev *ga4Event) (e store.Event, keep bool, col string, err error) {
	if ev.Name == "" {
		return e, false, "event_name", errors.New("empty event name")
	}
	if _, err := time.Parse("20060102", ev.Date); err != nil {
		return e, false, "event_date", fmt.Errorf("%q is not a date (YYYYMMDD)", ev.Date)
	}
	if ev.Micros <= 0 {
		return e, false, "event_timestamp", errors.New("missing or not positive")
	}
	if ev.PseudoID == "" {
		return e, false, "user_pseudo_id", errors.New("empty: every row of a GA4 web export has one")
	}
	if slices.Contains(ga4Skipped, ev.Name) {
		return e, false, "", nil
	}
	e = store.Event{Site: r.site, Timestamp: time.UnixMicro(ev.Micros).UTC(), Hostname: r.site, Pathname: "/"}
	if loc, ok := ev.param("page_location"); ok && loc.text() != "" {
		page, err := r.pages.Parse(loc.text())
		if err != nil {
			return e, false, "event_params.page_location", fmt.Errorf("not a page URL: %v", err)
		}
		if !belongs(page.Hostname, r.site) {
			return e, false, "event_params.page_location", fmt.Errorf("host %q is not the site %s or a subdomain of it: an export of another site?", page.Hostname, r.site)
		}
		e.Hostname, e.Pathname = page.Hostname, page.Pathname
		e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent = page.UTM.Source, page.UTM.Medium, page.UTM.Campaign, page.UTM.Term, page.UTM.Content
	} else if ev.Name == "page_view" {
		return e, false, "event_params.page_location", errors.New("a page_view without page_location")
	}
	switch ev.Name {
	case "page_view":
		e.Name = "pageview"
		if ref, ok := ev.param("page_referrer"); ok && ref.text() != "" {
			info := r.refs.Parse(ref.text(), r.site)
			e.ReferrerHost, e.ReferrerSource = info.Host, info.Source
		}
	case "user_engagement":
		e.Name = "engagement"
		if ms, ok := ev.param("engagement_time_msec"); ok {
			e.EngagedMS = uint32(min(max(ms.Int, 0), 1<<31))
		}
	case "click":
		e.Name = "Outbound Link: Click"
		r.ga4Props(&e, ev, "link_url", "url")
	case "file_download":
		e.Name = "File Download"
		r.ga4Props(&e, ev, "link_url", "url")
	default:
		e.Name = ev.Name
		if len(e.Name) > 120 {
			return e, false, "event_name", errors.New("longer than 120 bytes")
		}
		r.ga4Props(&e, ev, "", "")
	}
	e.Device = strings.ToLower(ev.Category)
	if e.Device != "mobile" && e.Device != "tablet" {
		e.Device = "desktop"
	}
	e.OS, e.OSVersion = ev.OS, ev.OSVer
	if e.OS == "Macintosh" {
		e.OS = "macOS"
	}
	e.Browser = ev.Browser
	e.BrowserVersion, _, _ = strings.Cut(ev.BrowserVer, ".")
	e.CountryCode = countryCode(ev.Country)
	e.Region, e.City = ev.Region, ev.City
	if e.CountryCode == "" {
		e.Region, e.City = "", ""
	}
	e.VisitorID = r.visitor(e.Timestamp, "ga4 user_pseudo_id", ev.PseudoID)
	if sid, ok := ev.param("ga_session_id"); ok && sid.text() != "" {
		e.SessionID = r.visitor(e.Timestamp, "ga4 session", ev.PseudoID+"\x00"+sid.text())
	} else {
		e.SessionID = r.sessionOf(e.VisitorID, e.Timestamp)
	}
	e.EventID = r.nextID()
	return e, true, "", nil
}

// ga4Props keeps an event's own parameters as properties, as the collector keeps
// props (at most 30, keys of 64 bytes, values of 256); from, when set, is kept as as.
func (r *run) ga4Props(e *store.Event, ev *ga4Event, from, as string) {
	for _, p := range ev.Params {
		key := p.Key
		if key == from && from != "" {
			key = as
		} else if slices.Contains(ga4Reserved, key) {
			continue
		}
		val := p.text()
		if val == "" || len(e.PropKeys) == 30 || len(key) > 64 {
			continue
		}
		if len(val) > 256 {
			val = val[:256]
		}
		e.PropKeys, e.PropValues = append(e.PropKeys, key), append(e.PropValues, val)
	}
}

// belongs is whether host is the site or a subdomain of it.
func belongs(host, site string) bool {
	return host == site || strings.HasSuffix(host, "."+site) || strings.TrimPrefix(host, "www.") == site
}

// countryCode is the ISO 3166-1 code of a country's English name as GA4 writes it
// ("Estonia" → "EE"), "" when unknown ("(not set)").
func countryCode(name string) string {
	if name == "" {
		return ""
	}
	return countryCodes()[strings.ToLower(name)]
}

var countryCodes = sync.OnceValue(func() map[string]string {
	names := display.English.Regions()
	out := map[string]string{}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			region, err := language.ParseRegion(code)
			if err != nil || !region.IsCountry() {
				continue
			}
			if name := names.Name(region); name != "" {
				out[strings.ToLower(name)] = code
			}
		}
	}
	// Names GA4 writes that differ from CLDR's.
	for name, code := range map[string]string{"united states": "US", "united kingdom": "GB", "czechia": "CZ",
		"south korea": "KR", "russia": "RU", "türkiye": "TR", "turkey": "TR", "hong kong": "HK", "macao": "MO",
		"myanmar (burma)": "MM", "côte d’ivoire": "CI", "congo - kinshasa": "CD", "congo - brazzaville": "CG"} {
		out[name] = code
	}
	return out
})
