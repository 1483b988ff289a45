// Package pageurl reduces the URL of a viewed page to what loendur stores:
// its host name, its path and its UTM campaign parameters. The rest of the
// query string and the fragment are dropped without being looked at, since
// they often carry personal data (e-mail addresses, tokens, search terms).
package pageurl

import (
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

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

// Parser is Parse with a bounded cache of what comes before a URL's query string and
// fragment: the same pages are read again and again, with and without campaign
// parameters. The query string and the fragment are never kept, since they may hold
// personal data: the campaign parameters are read from them again for each URL.
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
	if len(raw) > MaxURLLen {
		return Parse(raw)
	}
	cut := strings.IndexAny(raw, "?#")
	if cut < 0 {
		return p.cached(raw)
	}
	if last, _ := utf8.DecodeLastRuneInString(raw[:cut]); unicode.IsSpace(last) {
		return Parse(raw) // Parse would trim that space from the part alone, not from raw
	}
	// What Parse refuses in a query string or fragment, which the part before them
	// cannot tell: url.Parse's control characters in the query and bad escapes in the
	// fragment. Trailing spaces are trimmed, as Parse trims the whole URL.
	query, fragment, _ := strings.Cut(strings.TrimRightFunc(raw[cut:], unicode.IsSpace), "#")
	if strings.ContainsFunc(query, isCTL) || !validEscapes(fragment) {
		return Page{}, ErrMalformed
	}
	page, err := p.cached(raw[:cut])
	if err == nil {
		page.UTM = utmOf(strings.TrimPrefix(query, "?"))
	}
	return page, err
}

// cached parses raw, which has neither query string nor fragment, from the cache.
func (p *Parser) cached(raw string) (Page, error) {
	if r, ok := p.pages.Get(raw); ok {
		return r.page, r.err
	}
	key := strings.Clone(raw)
	page, err := Parse(key)
	p.pages.Put(key, parsed{page, err})
	return page, err
}

// isCTL is what url.Parse calls a control character.
func isCTL(r rune) bool { return r < ' ' || r == 0x7f }

// validEscapes says whether every '%' in s begins an escape of two hex digits.
func validEscapes(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if !escapeAt(s, i) {
			return false
		}
		s = s[i+3:]
	}
	return true
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
