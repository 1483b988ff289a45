package imports

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/websystems/loendur/internal/store"
)

// goatcounterColumns are the columns of GoatCounter's CSV export, format version 2
// (its header's first field carries the version: "2Path"). Older exports name the
// user agent column "User-Agent".
var goatcounterColumns = []string{"Path", "Title", "Event", "UserAgent", "Browser", "System", "Session", "Bot",
	"Referrer", "Referrer scheme", "Screen size", "Location", "FirstVisit", "Date"}

type goatcounterFormat struct{ path, name string }

func (g goatcounterFormat) read(ctx context.Context, r *run, w *writer) (summary, error) {
	var sum summary
	rc, err := openText(g.path)
	if err != nil {
		return sum, err
	}
	defer rc.Close()
	r.parsers()
	cr := csv.NewReader(rc)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return sum, csvError(g.name, cr, err, "the header")
	}
	pos := map[string]int{}
	for i, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		if i == 0 {
			if !strings.HasPrefix(name, "2") {
				return sum, &Error{File: g.name, Line: 1, Column: "1", Msg: fmt.Sprintf("header %q: not GoatCounter's export format version 2", name)}
			}
			name = name[1:]
		}
		if name == "User-Agent" {
			name = "UserAgent"
		}
		if !slices.Contains(goatcounterColumns, name) {
			return sum, &Error{File: g.name, Line: 1, Column: strconv.Itoa(i + 1), Msg: fmt.Sprintf("unknown column %q (GoatCounter's export version 2 has: %s)", name, strings.Join(goatcounterColumns, ", "))}
		}
		pos[name] = i
	}
	for _, need := range []string{"Path", "Event", "Session", "Date"} {
		if _, ok := pos[need]; !ok {
			return sum, &Error{File: g.name, Line: 1, Msg: fmt.Sprintf("column %q missing", need)}
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return sum, nil
		}
		if err != nil {
			return sum, csvError(g.name, cr, err, "a row")
		}
		e, keep, err := g.event(r, pos, rec, cr)
		if err != nil {
			return sum, err
		}
		if !keep {
			continue
		}
		if err := r.take(ctx, w, &sum, e); err != nil {
			return sum, err
		}
	}
}

// event turns one hit into an event; keep is false for bots, which are not stored.
func (g goatcounterFormat) event(r *run, pos map[string]int, rec []string, cr *csv.Reader) (store.Event, bool, error) {
	field := func(col string) string {
		if i, ok := pos[col]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	bad := func(col, msg string) error {
		line, _ := cr.FieldPos(pos[col])
		return &Error{File: g.name, Line: int64(line), Column: col, Msg: msg}
	}
	if bot := field("Bot"); bot != "" && bot != "0" {
		return store.Event{}, false, nil
	}
	t, err := time.Parse(time.RFC3339, field("Date"))
	if err != nil {
		return store.Event{}, false, bad("Date", fmt.Sprintf("%q is not an RFC 3339 time", field("Date")))
	}
	session := field("Session")
	if session == "" {
		return store.Event{}, false, bad("Session", "empty session id")
	}
	path := field("Path")
	if path == "" {
		return store.Event{}, false, bad("Path", "empty path")
	}
	e := store.Event{Site: r.site, Timestamp: t.UTC(), Hostname: r.site, Name: "pageview", Pathname: path}
	switch field("Event") {
	case "true", "1", "t":
		// GoatCounter keeps an event's name in the path column.
		e.Name, e.Pathname = strings.TrimPrefix(path, "/"), "/"
		if len(e.Name) > 120 {
			e.Name = e.Name[:120]
		}
	case "false", "0", "f", "":
		if !strings.HasPrefix(path, "/") {
			// A path stored with its host (GoatCounter's "domain in path" option).
			page, err := r.pages.Parse("https://" + path)
			if err != nil {
				return store.Event{}, false, bad("Path", "not a path")
			}
			if !belongs(page.Hostname, r.site) {
				return store.Event{}, false, bad("Path", fmt.Sprintf("host %q is not the site %s or a subdomain of it: an export of another site?", page.Hostname, r.site))
			}
			e.Hostname, e.Pathname = page.Hostname, page.Pathname
		} else if page, err := r.pages.Parse("https://" + r.site + path); err == nil {
			e.Pathname, e.UTMSource, e.UTMMedium, e.UTMCampaign = page.Pathname, page.UTM.Source, page.UTM.Medium, page.UTM.Campaign
			e.UTMTerm, e.UTMContent = page.UTM.Term, page.UTM.Content
		}
	default:
		return store.Event{}, false, bad("Event", fmt.Sprintf("%q is neither true nor false", field("Event")))
	}
	if ua := field("UserAgent"); ua != "" {
		info := r.agents.Parse(ua)
		if info.Bot {
			return store.Event{}, false, nil
		}
		e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.Device = info.Browser, info.BrowserVersion, info.OS, info.OSVersion, info.Device
	} else {
		e.Browser, e.BrowserVersion = splitVersion(field("Browser"))
		e.OS, e.OSVersion = splitVersion(field("System"))
		e.Device = "desktop"
	}
	if e.Name == "pageview" {
		ref := field("Referrer")
		switch field("Referrer scheme") {
		case "h", "":
			if ref != "" {
				if !strings.Contains(ref, "://") {
					ref = "https://" + ref
				}
				info := r.refs.Parse(ref, r.site)
				e.ReferrerHost, e.ReferrerSource = info.Host, info.Source
			}
		case "c":
			if e.UTMSource == "" {
				e.UTMSource = ref
			}
		default: // g, o: a name GoatCounter generated (e.g. "Hacker News") or an app
			e.ReferrerSource = ref
		}
	}
	if size := field("Screen size"); size != "" {
		w, _, _ := strings.Cut(size, ",")
		if n, err := strconv.ParseFloat(w, 64); err == nil && n > 0 && n < 65536 {
			e.Width = uint16(n)
		}
	}
	if loc := field("Location"); loc != "" {
		country, region, _ := strings.Cut(loc, "-")
		if len(country) != 2 {
			return store.Event{}, false, bad("Location", fmt.Sprintf("%q is not an ISO 3166 code", loc))
		}
		e.CountryCode, e.Region = strings.ToUpper(country), region
	}
	e.VisitorID = r.visitor(e.Timestamp, "goatcounter session", session)
	e.SessionID = r.sessionOf(e.VisitorID, e.Timestamp)
	e.EventID = r.nextID()
	return e, true, nil
}

// splitVersion splits "Firefox 120.0" into the name and the major version.
func splitVersion(s string) (name, version string) {
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return s, ""
	}
	name, version = s[:i], s[i+1:]
	if version == "" || version[0] < '0' || version[0] > '9' {
		return s, ""
	}
	major, _, _ := strings.Cut(version, ".")
	return name, major
}
