// Package useragent turns a User-Agent header into the browser, operating
// system and device class shown on the dashboard, and decides whether the
// request comes from a bot, which the collector must not count.
//
// Fields come from github.com/medama-io/go-useragent, a trie parser that
// needs well under a microsecond and allocates nothing. Crawlers are
// recognised with uap-core's maintained regexes.yaml (see crawlers.go), plus
// a few rules for what that list does not cover: an empty user agent, HTTP
// libraries and headless browsers (see bots.go). Results are kept in a
// bounded cache because the same few hundred user agents make up most of a
// site's traffic.
package useragent

import (
	"strings"
	"sync"

	medama "github.com/medama-io/go-useragent"
	"github.com/websystems/loendur/internal/cache"
)

// MaxLen is how much of a user agent is parsed, cached and looked at. Real
// browsers send 100 to 400 bytes; the limit bounds the cost of a cache miss
// and the memory of a cache entry against junk sent on purpose.
const MaxLen = 512

// Device classes.
const (
	Desktop = "desktop"
	Mobile  = "mobile"
	Tablet  = "tablet"
)

// Info is what the dashboard shows about a user agent. A field is empty when
// it is not known, except Device, which is Desktop then.
type Info struct {
	Browser        string // e.g. "Chrome", "Firefox", "Safari", "Edge"
	BrowserVersion string // major version, e.g. "120"
	OS             string // e.g. "Windows", "macOS", "iOS", "Android", "Linux"
	OSVersion      string // e.g. "10", "14.2"
	Device         string // Desktop, Mobile or Tablet
	Bot            bool
}

// Parser parses user agents. It is safe for concurrent use; build one per
// process and share it.
type Parser struct {
	fields   *medama.Parser
	crawlers *crawlerRules // nil if uap-core's list failed to load
	patterns *patternList  // nil if the binary was built without the second list
	cache    *cache.Map[Info]
}

// NewParser returns a parser that remembers the results of about cacheSize
// distinct user agents (each entry holds at most MaxLen bytes of key plus a
// small Info). cacheSize <= 0 disables the cache.
//
// The first call in a process loads the field trie and compiles the crawler
// list, which takes about 0.1 s and keeps about 13 MB; later calls reuse
// both.
func NewParser(cacheSize int) *Parser {
	var fields *medama.Parser
	var wg sync.WaitGroup
	wg.Go(func() { fields = medama.NewParser() })
	var patterns *patternList
	wg.Go(func() { patterns, _ = defaultPatternList() })
	crawlers, err := defaultCrawlerRules()
	wg.Wait()
	if err != nil {
		// Only a broken dependency update can get here, and
		// TestCrawlerRulesLoad catches it; the parser then still recognises the other bots.
		crawlers = nil
	}
	// A binary built without `make assets` has no second list (PatternListVersion says
	// so, and serve logs it); TestPatternListLoads fails on such a build.
	return &Parser{fields: fields, crawlers: crawlers, patterns: patterns, cache: cache.New[Info](cacheSize)}
}

// Parse describes ua. The returned Info never shares memory with ua, so it
// stays valid after the request whose header ua came from is recycled (as
// Fiber and fasthttp do).
func (p *Parser) Parse(ua string) Info {
	if len(ua) > MaxLen {
		ua = ua[:MaxLen]
	}
	if info, ok := p.cache.Get(ua); ok {
		return info
	}
	key := strings.Clone(ua)
	info := p.parse(key)
	p.cache.Put(key, info)
	return info
}

// parse does the work of a cache miss. ua is owned by the parser.
func (p *Parser) parse(ua string) Info {
	ua = strings.TrimSpace(ua)
	m := p.fields.Parse(ua)
	info := fieldsOf(ua, m)
	info.Bot = p.isBot(ua, info, m)
	return info
}
