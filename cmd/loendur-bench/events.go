package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/websystems/loendur/internal/geo"
	"github.com/websystems/loendur/internal/geo/geotest"
)

// browser is one real user agent with its share of traffic and the viewport widths its
// device class reports.
type browser struct {
	ua     string
	weight int
	mobile bool
}

// browsers are current desktop and mobile user agents as real browsers send them, with
// rough market shares. There is deliberately no crawler, headless browser or empty user
// agent here: every event sent must be stored, so loss can be counted exactly.
var browsers = []browser{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 22, false},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 8, false},
	{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36", 2, false},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 3, false},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:132.0) Gecko/20100101 Firefox/132.0", 1, false},
	{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 1, false},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", 6, false},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 6, false},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 OPR/115.0.0.0", 1, false},
	{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 1, false},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 YaBrowser/24.10.0.0 Safari/537.36", 1, false},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 18, true},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", 3, true},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 15, true},
	{"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", 4, true},
	{"Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", 1, true},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/475.0.0.35.109;FBBV/640223010;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/80]", 2, true},
	{"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 1, true},
	{"Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1", 2, true},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0", 1, true},
}

var (
	desktopWidths = []float64{1280, 1366, 1440, 1536, 1600, 1680, 1920, 2560}
	mobileWidths  = []float64{360, 375, 390, 393, 412, 414, 430, 768, 810, 820}
	languages     = []string{"en-US,en;q=0.9", "de-DE,de;q=0.9,en;q=0.8", "fr-FR,fr;q=0.9", "et-EE,et;q=0.9,en;q=0.8",
		"es-ES,es;q=0.9", "pt-BR,pt;q=0.9", "ja-JP,ja;q=0.9", "pl-PL,pl;q=0.9,en-US;q=0.8"}
	sections = []string{"blog", "docs", "products", "shop/category", "news", "help", "guides", "case-studies", "events", "careers"}
	words    = []string{"analytics", "privacy", "cookie", "consent", "clickhouse", "go", "speed", "pricing", "setup",
		"migration", "dashboard", "report", "funnel", "retention", "growth", "seo", "campaign", "email", "design", "api"}
	customEvents = []string{"Signup", "Download", "Outbound Link: Click", "File Download", "Add to Cart", "Newsletter", "404", "Purchase"}
	otherSites   = []string{"https://news.ycombinator.com/", "https://www.reddit.com/r/golang/", "https://old.reddit.com/r/webdev/",
		"https://t.co/a1b2c3d4", "https://www.linkedin.com/feed/", "https://lobste.rs/", "https://dev.to/", "https://medium.com/@someone/a-story",
		"https://github.com/websystems/loendur", "https://stackoverflow.com/questions/123456", "https://www.youtube.com/",
		"https://l.instagram.com/", "https://example-blog.net/2025/10/best-tools/", "https://forum.example.org/t/analytics/991",
		"https://www.heise.de/news/", "https://www.postimees.ee/", "https://www.delfi.ee/", "https://substack.com/inbox"}
	searchEngines = []string{"https://www.google.com/", "https://www.google.de/", "https://www.google.co.uk/", "https://www.google.ee/",
		"https://www.google.fr/", "https://www.bing.com/", "https://duckduckgo.com/", "https://search.yahoo.com/", "https://yandex.ru/",
		"https://www.ecosia.org/"}
	facebook = []string{"https://www.facebook.com/", "https://m.facebook.com/", "https://l.facebook.com/", "https://lm.facebook.com/"}
)

// firstOctets are public IPv4 /8s the visitors come from; with the two next bytes
// random, addresses spread over thousands of /16s (the stored, truncated form).
var firstOctets = []byte{1, 2, 5, 8, 12, 14, 23, 24, 27, 31, 36, 37, 41, 42, 45, 46, 47, 49, 50, 58, 59, 61, 62, 66, 67,
	68, 69, 70, 71, 72, 73, 74, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 101,
	103, 105, 109, 110, 112, 114, 116, 118, 121, 122, 124, 125, 151, 176, 178, 185, 186, 187, 188, 189, 190, 193, 194,
	195, 197, 200, 201, 203, 212, 213, 217}

// v6Prefixes are the first 32 bits of IPv6 visitors (a tenth of them), of real ISPs.
var v6Prefixes = []string{"2a02:8108", "2a01:e0a", "2600:1700", "2601:600", "2409:4042", "2a00:23c8", "2001:4ca0", "2a02:2a40"}

// places are the locations of the benchmark's GeoIP database.
var places = []geo.Location{
	{CountryCode: "EE", Region: "Harju", City: "Tallinn"}, {CountryCode: "EE", Region: "Tartu", City: "Tartu"},
	{CountryCode: "DE", Region: "Berlin", City: "Berlin"}, {CountryCode: "DE", Region: "Bavaria", City: "Munich"},
	{CountryCode: "FR", Region: "Île-de-France", City: "Paris"}, {CountryCode: "GB", Region: "England", City: "London"},
	{CountryCode: "US", Region: "California", City: "San Francisco"}, {CountryCode: "US", Region: "New York", City: "New York"},
	{CountryCode: "US", Region: "Texas", City: "Austin"}, {CountryCode: "BR", Region: "São Paulo", City: "São Paulo"},
	{CountryCode: "IN", Region: "Karnataka", City: "Bengaluru"}, {CountryCode: "JP", Region: "Tokyo", City: "Tokyo"},
	{CountryCode: "PL", Region: "Mazovia", City: "Warsaw"}, {CountryCode: "ES", Region: "Madrid", City: "Madrid"},
	{CountryCode: "FI", Region: "Uusimaa", City: "Helsinki"}, {CountryCode: "SE", Region: "Stockholm", City: "Stockholm"},
	{CountryCode: "NL", Region: "North Holland", City: "Amsterdam"}, {CountryCode: "CA", Region: "Ontario", City: "Toronto"},
	{CountryCode: "AU", Region: "New South Wales", City: "Sydney"}, {CountryCode: "NG", Region: "Lagos", City: "Lagos"},
	{CountryCode: "LV", Region: "Riga", City: "Riga"}, {CountryCode: "LT", Region: "Vilnius", City: "Vilnius"},
}

// writeGeoDB writes a GeoIP2-City database covering every address the load generator
// sends: each /8 split into sixteen /12s, each /12 in a different place.
func writeGeoDB(path string) error {
	var entries []geotest.Entry
	for i, o := range firstOctets {
		for j := 0; j < 16; j++ {
			entries = append(entries, geotest.Entry{CIDR: fmt.Sprintf("%d.%d.0.0/12", o, j<<4), Location: places[(i*7+j)%len(places)]})
		}
	}
	for i, p := range v6Prefixes {
		entries = append(entries, geotest.Entry{CIDR: p + "::/32", Location: places[(i*5)%len(places)]})
	}
	return geotest.WriteCityDB(path, entries)
}

// event is the tracker's JSON body.
type event struct {
	Site      string            `json:"site"`
	Name      string            `json:"name"`
	URL       string            `json:"url"`
	Referrer  string            `json:"referrer,omitempty"`
	Width     float64           `json:"width"`
	Props     map[string]string `json:"props,omitempty"`
	EngagedMS *float64          `json:"engaged_ms,omitempty"`
	Scroll    *float64          `json:"scroll,omitempty"`
}

// template is one prepared request: body and the headers that go with its page.
type template struct {
	body        []byte
	page        string // sent as Referer, as browsers do
	contentType string
}

// workload is everything the workers draw from; read-only once built.
type workload struct {
	site      string
	origin    string
	desktop   []template
	mobile    []template
	uaByIndex []int // weighted: a visitor's browser is uaByIndex[visitor % len]
	visitors  uint32
}

func newWorkload(site string, templates int, visitors uint32, seed uint64) (*workload, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w := &workload{site: site, origin: "https://" + site, visitors: visitors}
	for i, b := range browsers {
		for range b.weight {
			w.uaByIndex = append(w.uaByIndex, i)
		}
	}
	rng.Shuffle(len(w.uaByIndex), func(i, j int) { w.uaByIndex[i], w.uaByIndex[j] = w.uaByIndex[j], w.uaByIndex[i] })
	pages := makePages(site, rng)
	for i := 0; i < templates; i++ {
		d, err := makeTemplate(site, pages, desktopWidths, rng)
		if err != nil {
			return nil, err
		}
		m, err := makeTemplate(site, pages, mobileWidths, rng)
		if err != nil {
			return nil, err
		}
		w.desktop = append(w.desktop, d)
		w.mobile = append(w.mobile, m)
	}
	return w, nil
}

// makePages returns about a thousand page URLs of the site: sections, articles, some
// on www., some with UTM tags, other query strings or fragments (none of which may be
// stored).
func makePages(site string, rng *rand.Rand) []string {
	pages := []string{"/", "/pricing", "/about", "/contact", "/features", "/login", "/signup", "/blog", "/docs"}
	for len(pages) < 1000 {
		s := sections[rng.IntN(len(sections))]
		slug := words[rng.IntN(len(words))] + "-" + words[rng.IntN(len(words))]
		if rng.IntN(3) == 0 {
			slug += "-" + strconv.Itoa(2020+rng.IntN(6))
		}
		pages = append(pages, "/"+s+"/"+slug)
	}
	urls := make([]string, 0, len(pages)*2)
	for _, p := range pages {
		host := site
		if rng.IntN(10) == 0 {
			host = "www." + site
		}
		u := "https://" + host + p
		switch r := rng.IntN(100); {
		case r < 12:
			u += "?utm_source=newsletter&utm_medium=email&utm_campaign=" + words[rng.IntN(len(words))] + "-2025"
		case r < 16:
			u += "?utm_source=facebook&utm_medium=cpc&utm_campaign=autumn&utm_content=carousel&utm_term=analytics"
		case r < 22:
			u += "?page=" + strconv.Itoa(2+rng.IntN(9))
		case r < 25:
			u += "#" + words[rng.IntN(len(words))]
		}
		urls = append(urls, u)
	}
	return urls
}

func makeTemplate(site string, pages []string, widths []float64, rng *rand.Rand) (template, error) {
	page := pages[zipf(rng, len(pages))]
	ev := event{Site: site, URL: page, Width: widths[rng.IntN(len(widths))]}
	switch r := rng.IntN(100); {
	case r < 60:
		ev.Name = "pageview"
		ev.Referrer = pickReferrer(site, pages, rng)
		if rng.IntN(5) == 0 {
			ev.Props = map[string]string{"author": words[rng.IntN(len(words))], "logged_in": strconv.FormatBool(rng.IntN(4) == 0)}
		}
	case r < 90:
		ev.Name = "engagement"
		ms := float64(500 + rng.IntN(300_000))
		scroll := float64(rng.IntN(101))
		ev.EngagedMS, ev.Scroll = &ms, &scroll
	default:
		ev.Name = customEvents[rng.IntN(len(customEvents))]
		ev.Props = map[string]string{"plan": []string{"free", "pro", "team"}[rng.IntN(3)]}
		if rng.IntN(2) == 0 {
			ev.Props["method"] = []string{"google", "email", "github"}[rng.IntN(3)]
		}
		if rng.IntN(3) == 0 {
			ev.Props["url"] = otherSites[rng.IntN(len(otherSites))]
			ev.Props["value"] = strconv.Itoa(rng.IntN(500))
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return template{}, err
	}
	ct := "text/plain;charset=UTF-8" // navigator.sendBeacon
	if rng.IntN(5) == 0 {
		ct = "application/json" // fetch with keepalive
	}
	return template{body: body, page: page, contentType: ct}, nil
}

// pickReferrer draws a referrer: direct, search, social, other sites or the site itself.
func pickReferrer(site string, pages []string, rng *rand.Rand) string {
	switch r := rng.IntN(100); {
	case r < 35:
		return ""
	case r < 62:
		return searchEngines[rng.IntN(len(searchEngines))]
	case r < 70:
		return facebook[rng.IntN(len(facebook))]
	case r < 88:
		return otherSites[rng.IntN(len(otherSites))]
	default:
		return pages[rng.IntN(len(pages))] // self-referral: dropped by the collector
	}
}

// zipf picks an index in [0,n) with a long tail: a few pages get most of the traffic.
func zipf(rng *rand.Rand, n int) int {
	f := rng.Float64()
	return min(n-1, int(float64(n)*f*f*f))
}

// visitor returns the user agent and X-Forwarded-For address of visitor v, appended to
// buf (so a worker formats addresses without allocating).
func (w *workload) visitor(v uint32, buf []byte) (b browser, xff []byte) {
	h := mix(uint64(v))
	b = browsers[w.uaByIndex[h%uint64(len(w.uaByIndex))]]
	h >>= 8
	if h%10 == 0 {
		p := v6Prefixes[(h>>4)%uint64(len(v6Prefixes))]
		buf = append(buf, p...)
		for i := 0; i < 3; i++ {
			buf = append(buf, ':')
			buf = strconv.AppendUint(buf, (h>>(8+16*uint(i)))&0xffff, 16)
		}
		buf = append(buf, "::"...)
		buf = strconv.AppendUint(buf, uint64(v&0xffff), 16)
		return b, buf
	}
	buf = strconv.AppendUint(buf, uint64(firstOctets[(h>>4)%uint64(len(firstOctets))]), 10)
	for i := 0; i < 3; i++ {
		buf = append(buf, '.')
		buf = strconv.AppendUint(buf, (h>>(12+8*uint(i)))&0xff, 10)
	}
	return b, buf
}

// mix is SplitMix64's finaliser: a visitor number to well-spread bits.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// checkVisitors makes sure every generated address parses (a typo in a prefix table
// would otherwise show up as 400s in the middle of a run).
func (w *workload) checkVisitors() error {
	var buf []byte
	for v := uint32(0); v < 10_000; v++ {
		_, xff := w.visitor(v, buf[:0])
		if _, err := netip.ParseAddr(string(xff)); err != nil {
			return fmt.Errorf("generated address %q: %w", xff, err)
		}
		buf = xff
	}
	if !strings.HasPrefix(string(w.desktop[0].body), "{") {
		return fmt.Errorf("bad template body")
	}
	return nil
}
