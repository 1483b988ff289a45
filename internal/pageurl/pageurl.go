// Package pageurl reduces the URL of a viewed page to what loendur stores:
// its host name, its path and its UTM campaign parameters. The rest of the
// query string and the fragment are dropped without being looked at, since
// they often carry personal data (e-mail addresses, tokens, search terms).
package pageurl

import (
	"errors"
	"net/url"
	"strings"

	"github.com/websystems/loendur/internal/cache"
)

// Limits of what is accepted and stored.
const (
	MaxURLLen      = 2048 // longer page URLs are refused
	MaxPathnameLen = 1024 // longer paths are cut
	MaxUTMLen      = 256  // longer UTM values are cut
)

// Errors name the problem only: the URL itself may hold personal data in its
// query string, so it must not end up in a log line through an error.
var (
	ErrTooLong   = errors.New("pageurl: URL longer than 2048 bytes")
	ErrMalformed = errors.New("pageurl: malformed URL")
	ErrScheme    = errors.New("pageurl: scheme must be http or https")
	ErrHost      = errors.New("pageurl: URL has no valid host")
)

// UTM holds the campaign parameters of a page URL.
type UTM struct{ Source, Medium, Campaign, Term, Content string }

// Page is what is stored about a page URL.
type Page struct {
	Hostname string // lower case, without port or trailing dot
	Pathname string // starts with "/", no query or fragment, readable escapes decoded
	UTM      UTM
}

// Parser is Parse with a bounded cache of URLs that have neither query string nor
// fragment: the bulk of page views, the same pages read again and again. Other URLs
// are parsed each time, so that no query string or fragment, which may hold personal
// data, is kept in memory.
type Parser struct {
	pages *cache.Map[parsed]
}

type parsed struct {
	page Page
	err  error
}

// NewParser returns a parser that remembers about cacheSize URLs; <= 0 disables it.
func NewParser(cacheSize int) *Parser { return &Parser{pages: cache.New[parsed](cacheSize)} }

// Parse is the package's Parse, from the cache where it may.
func (p *Parser) Parse(raw string) (Page, error) {
	if len(raw) > MaxURLLen || strings.ContainsAny(raw, "?#") {
		return Parse(raw)
	}
	if r, ok := p.pages.Get(raw); ok {
		return r.page, r.err
	}
	key := strings.Clone(raw)
	page, err := Parse(key)
	p.pages.Put(key, parsed{page, err})
	return page, err
}

// Parse parses the full URL of a page as the browser sends it
// (location.href). The returned error is one of the Err values.
func Parse(raw string) (Page, error) {
	if len(raw) > MaxURLLen {
		return Page{}, ErrTooLong
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Page{}, ErrMalformed // err quotes the URL: never pass it on
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Page{}, ErrScheme
	}
	host, ok := CleanHost(u.Host)
	if !ok {
		return Page{}, ErrHost
	}
	return Page{Hostname: host, Pathname: pathname(u), UTM: utmOf(u.RawQuery)}, nil
}
